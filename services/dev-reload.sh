#!/bin/sh
# Entrypoint of the `dev` image target (skaffold's dev profile): run the service's command
# (`nova-<service> <args>`) under watchfiles, which restarts it when a .py file of the service or
# of nova-kit changes — the files skaffold syncs into the running pod.
# NOVA_SERVICE names the service (set by the Dockerfile); NOVA_RELOAD_ROOT is where the packages
# live (the image's site-packages).
set -eu
: "${NOVA_SERVICE:?NOVA_SERVICE is not set}"
root="${NOVA_RELOAD_ROOT:-/app/.venv/lib/python3.13/site-packages}"
command="nova-${NOVA_SERVICE}"
for arg in "$@"; do
  case "$arg" in
    *[!A-Za-z0-9_./=:-]*) echo "nova-dev-reload: unsupported character in argument '$arg'" >&2; exit 2;;
  esac
  command="$command $arg"
done
exec watchfiles --filter python --sigint-timeout 10 "$command" \
  "$root/nova_${NOVA_SERVICE}" "$root/nova_kit"
