#!/usr/bin/env bash
# Delete the Nova kind cluster. The registry container stays (its images are a cache);
# pass --registry to remove it too.
set -euo pipefail
cluster="${KIND_CLUSTER:-nova}"
reg_name="${REGISTRY_NAME:-kind-registry}"

kind delete cluster --name "$cluster"
if [ "${1:-}" = "--registry" ]; then
  docker rm -f "$reg_name" >/dev/null 2>&1 || true
  echo "kind-down: registry '$reg_name' removed"
fi
