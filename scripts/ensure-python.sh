#!/usr/bin/env bash
# Prints the Python 3.13 interpreter uv should use, installing uv and/or Python when missing.
#   1. an interpreter uv already finds (system, pyenv shims, uv-managed);
#   2. a pyenv-installed 3.13 that is not the active pyenv version;
#   3. a Python that uv downloads (machines with network access to python-build-standalone).
set -euo pipefail
want="${NOVA_PYTHON_VERSION:-3.13}"

if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv with pip" >&2
  python3 -m pip install --quiet --user uv >&2 || python3 -m pip install --quiet uv >&2
  export PATH="$HOME/.local/bin:$PATH"
fi

if found=$(uv python find "$want" 2>/dev/null); then
  echo "$found"; exit 0
fi
for root in "${PYENV_ROOT:-}" "$HOME/.pyenv"; do
  [ -n "$root" ] || continue
  for candidate in "$root"/versions/"$want"*/bin/python"$want"; do
    if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
  done
done
echo "no Python $want found; asking uv to install one" >&2
uv python install "$want" >&2
uv python find "$want"
