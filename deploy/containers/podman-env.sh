# Sourced by the image and container-run scripts when podman is the engine: a containers.conf
# with the runc runtime and explicit ulimits (on hosts with a hybrid cgroup setup crun refuses to
# start containers, and the default ulimits cannot be raised), unless CONTAINERS_CONF names yours.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  mkdir -p "${NOVA_CONTAINERS_STATE:-$PWD/.nova/containers}"
  CONTAINERS_CONF="${NOVA_CONTAINERS_STATE:-$PWD/.nova/containers}/containers.conf"
  cat >"$CONTAINERS_CONF" <<'CONF'
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
CONF
  export CONTAINERS_CONF
fi
