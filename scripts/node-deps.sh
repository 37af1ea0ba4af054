#!/usr/bin/env bash
# Installs the npm dependencies of the repository's Node packages, all at once.
#
# Each package's node_modules/.installed records the Node version and the lock file's hash it was
# installed with: a new Node (native bindings differ) or a changed lock re-installs, anything else
# is skipped. The dev explorers' assets (libs/nova-kit/dev-assets) are only prebuilt bundles: their
# packages are unpacked from their own tarballs (scripts/unpack-npm-assets.mjs), not npm ci'd.
set -euo pipefail
cd "$(dirname "$0")/.."
node_version="$(node --version)"

install() {
  local dir="$1" stamp
  stamp="node $node_version lock $(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$dir/node_modules/.installed" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  echo "installing $dir's npm packages ($stamp)"
  if [ "$dir" = libs/nova-kit/dev-assets ]; then
    node scripts/unpack-npm-assets.mjs "$dir"
  else
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
  echo "$stamp" > "$dir/node_modules/.installed"
}

pids=()
for dir in deploy/compose frontend libs/nova-kit/dev-assets services/auth/tests/oidc_provider; do
  install "$dir" &
  pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
exit "$status"
