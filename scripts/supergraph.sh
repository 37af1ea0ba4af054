#!/usr/bin/env bash
# Compose the supergraph the gateway serves from the SDL of every Nova service that has an
# `export-sdl` command, with the pinned composer in deploy/compose.
#
#   scripts/supergraph.sh [OUTPUT]          default OUTPUT: deploy/supergraph.graphql
#   scripts/supergraph.sh --check [FILE]    exit 1 when FILE differs from a fresh composition
#
# Environment:
#   NOVA_SUPERGRAPH_SERVICES  services to compose (default: every services/* but the gateway
#                             whose nova-<svc> command offers export-sdl)
#   NOVA_VENV_BIN             where the nova-<svc> commands live (default: .venv/bin)
#   NOVA_SUBGRAPH_URL_<SVC>   routing URL written into the supergraph for <svc> (default:
#                             http://127.0.0.1:<port>/graphql, the `make dev` address); the
#                             gateway overrides URLs at run time with NOVA_GATEWAY_SUBGRAPH_URLS
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPOSE_DIR="$ROOT/deploy/compose"
VENV_BIN="${NOVA_VENV_BIN:-$ROOT/.venv/bin}"

check=0
if [[ "${1:-}" == "--check" ]]; then
  check=1
  shift
fi
output="${1:-$ROOT/deploy/supergraph.graphql}"

default_port() {
  case "$1" in
    auth) echo 8001 ;;
    users) echo 8002 ;;
    *) echo 80 ;;
  esac
}

command -v node >/dev/null || { echo "supergraph: node (>= 20) is required" >&2; exit 1; }
if [[ ! -d "$COMPOSE_DIR/node_modules/@theguild/federation-composition" ]]; then
  npm ci --prefix "$COMPOSE_DIR" --no-audit --no-fund --loglevel=error >&2
fi

if [[ -n "${NOVA_SUPERGRAPH_SERVICES:-}" ]]; then
  read -r -a services <<<"$NOVA_SUPERGRAPH_SERVICES"
else
  services=()
  for dir in "$ROOT"/services/*/; do
    name="$(basename "$dir")"
    [[ "$name" == "gateway" ]] && continue
    services+=("$name")
  done
fi

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

arguments=()
for service in "${services[@]}"; do
  command_path="$VENV_BIN/nova-$service"
  [[ -x "$command_path" ]] || continue
  "$command_path" --help 2>/dev/null | grep -q "export-sdl" || continue
  if ! "$command_path" export-sdl >"$workdir/$service.graphql"; then
    echo "supergraph: nova-$service export-sdl failed" >&2
    exit 1
  fi
  variable="NOVA_SUBGRAPH_URL_$(tr '[:lower:]-' '[:upper:]_' <<<"$service")"
  url="${!variable:-http://127.0.0.1:$(default_port "$service")/graphql}"
  arguments+=(--url "$service=$url" "$service=$workdir/$service.graphql")
done

if [[ ${#arguments[@]} -eq 0 ]]; then
  echo "supergraph: no service offers export-sdl" >&2
  exit 1
fi

node "$COMPOSE_DIR/compose.mjs" -o "$workdir/supergraph.graphql" "${arguments[@]}"

if [[ $check -eq 1 ]]; then
  if ! diff -u "$output" "$workdir/supergraph.graphql"; then
    echo "supergraph: $output is out of date; run scripts/supergraph.sh" >&2
    exit 1
  fi
  echo "supergraph: $output is up to date"
else
  mkdir -p "$(dirname "$output")"
  cp "$workdir/supergraph.graphql" "$output"
  echo "supergraph: wrote $output" >&2
fi
