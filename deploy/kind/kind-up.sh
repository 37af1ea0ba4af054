#!/usr/bin/env bash
# Create the Nova kind cluster with a local registry on localhost:5001, following kind's
# "local registry" guide, then the ingress controller and the dev Secrets.
#   deploy/kind/kind-up.sh            (or: make kind-up)
# Environment: KIND_CLUSTER (nova), REGISTRY_NAME (kind-registry), REGISTRY_PORT (5001),
#              NOVA_NAMESPACE (nova), NOVA_INGRESS (1 = install ingress-nginx).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cluster="${KIND_CLUSTER:-nova}"
reg_name="${REGISTRY_NAME:-kind-registry}"
reg_port="${REGISTRY_PORT:-5001}"
namespace="${NOVA_NAMESPACE:-nova}"
ingress_manifest="${NOVA_INGRESS_MANIFEST:-https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.13.3/deploy/static/provider/kind/deploy.yaml}"

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "kind-up: '$tool' is required" >&2; exit 1; }
done

# 1. The registry container (kept across cluster re-creations).
if [ "$(docker inspect -f '{{.State.Running}}' "$reg_name" 2>/dev/null || true)" != "true" ]; then
  docker run -d --restart=always -p "127.0.0.1:${reg_port}:5000" --network bridge \
    --name "$reg_name" registry:2
fi

# 2. The cluster, with containerd reading mirrors from /etc/containerd/certs.d.
if ! kind get clusters | grep -qx "$cluster"; then
  kind create cluster --name "$cluster" --config "$here/cluster.yaml"
fi

# 3. Every node resolves localhost:5001 to the registry container.
registry_dir="/etc/containerd/certs.d/localhost:${reg_port}"
for node in $(kind get nodes --name "$cluster"); do
  docker exec "$node" mkdir -p "$registry_dir"
  printf '[host."http://%s:5000"]\n' "$reg_name" | docker exec -i "$node" cp /dev/stdin "$registry_dir/hosts.toml"
done

# 4. The registry joins the kind network so nodes reach it by name.
if [ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$reg_name")" = "null" ]; then
  docker network connect kind "$reg_name"
fi

# 5. Document the registry for tools (KEP-1755).
kubectl --context "kind-$cluster" apply -f - <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:${reg_port}"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
YAML

# 6. Ingress controller on the control-plane node (host ports 80/443).
if [ "${NOVA_INGRESS:-1}" = "1" ]; then
  kubectl --context "kind-$cluster" apply -f "$ingress_manifest"
  kubectl --context "kind-$cluster" -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=180s
fi

# 7. Namespace and dev-only Secrets (generated, never committed).
kubectl --context "kind-$cluster" create namespace "$namespace" --dry-run=client -o yaml \
  | kubectl --context "kind-$cluster" apply -f -
KUBE_CONTEXT="kind-$cluster" NOVA_NAMESPACE="$namespace" "$here/dev-secrets.sh"

echo "kind-up: cluster '$cluster' ready; registry localhost:${reg_port}. Next: make deploy-kind"
