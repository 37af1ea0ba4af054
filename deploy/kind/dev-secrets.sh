#!/usr/bin/env bash
# Create the dev-only Secrets of a kind install (values-kind.yaml), generated on this machine
# and never committed: random database passwords, an Ed25519 signing key, the worker's service
# client secret. When they all exist they are kept; --force regenerates them (the database
# passwords are kept while the nova-postgresql Secret exists, since the database has them).
#   deploy/kind/dev-secrets.sh [--force]
# Environment: KUBE_CONTEXT (kind-nova), NOVA_NAMESPACE (nova), NOVA_RELEASE (nova).
# Requires kubectl, openssl and python3.
set -euo pipefail

context="${KUBE_CONTEXT:-kind-nova}"
namespace="${NOVA_NAMESPACE:-nova}"
release="${NOVA_RELEASE:-nova}"
force="${1:-}"
kc=(kubectl --context "$context" -n "$namespace")

for tool in kubectl openssl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "dev-secrets: '$tool' is required" >&2; exit 1; }
done

random() { openssl rand -hex 24; }

exists() { "${kc[@]}" get secret "$1" >/dev/null 2>&1; }

# create_secret NAME KEY=VALUE... : applied from a manifest read on stdin, so no value is
# visible in the process list.
create_secret() {
  local name="$1"; shift
  python3 - "$name" "$namespace" "$@" <<'PY' | "${kc[@]}" apply -f - >/dev/null
import json, sys
name, namespace, *pairs = sys.argv[1:]
data = dict(pair.split("=", 1) for pair in pairs)
print(json.dumps({
    "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
    "metadata": {"name": name, "namespace": namespace,
                 "labels": {"app.kubernetes.io/part-of": "nova", "nova.dev/dev-only": "true"}},
    "stringData": data,
}))
PY
  echo "dev-secrets: created secret/$name"
}

all_exist=true
for name in postgresql auth users worker gateway; do
  exists "$release-$name" || all_exist=false
done
if $all_exist && [ "$force" != "--force" ]; then
  echo "dev-secrets: the Secrets of release '$release' exist; keeping them (--force regenerates)"
  exit 0
fi

# Reuse the database passwords of an existing nova-postgresql Secret: the database keeps them.
password_of() {
  if exists "$release-postgresql"; then
    "${kc[@]}" get secret "$release-postgresql" -o "jsonpath={.data.$1-password}" | base64 -d
  else
    random
  fi
}
postgres_pw="$(password_of postgres)"
auth_pw="$(password_of auth)"
users_pw="$(password_of users)"
worker_pw="$(password_of worker)"
client_secret="$(random)"

db="$release-postgresql:5432/nova"
# One Redis database for everyone: it is the Celery broker auth publishes to and the worker
# consumes from; services keep their other keys apart by prefix.
redis="redis://$release-redis:6379/0"

signing_key="$(openssl genpkey -algorithm ed25519 2>/dev/null | python3 -c '
import json, sys, uuid
print(json.dumps([{"kid": "kind-" + uuid.uuid4().hex[:8], "pem": sys.stdin.read()}]))')"
two_factor_key="$(openssl rand -base64 32)"
service_clients="$(python3 -c 'import json, sys; print(json.dumps({"worker": sys.argv[1]}))' "$client_secret")"

create_secret "$release-postgresql" \
  "postgres-password=$postgres_pw" "auth-password=$auth_pw" \
  "users-password=$users_pw" "worker-password=$worker_pw"
create_secret "$release-auth" \
  "database-url=postgresql://auth:$auth_pw@$db" "redis-url=$redis" \
  "signing-keys=$signing_key" "service-clients=$service_clients" \
  "two-factor-key=$two_factor_key"
create_secret "$release-users" \
  "database-url=postgresql://users:$users_pw@$db" "redis-url=$redis"
create_secret "$release-worker" \
  "database-url=postgresql://worker:$worker_pw@$db" "redis-url=$redis" \
  "service-client-secret=$client_secret"
create_secret "$release-gateway" "redis-url=$redis"
