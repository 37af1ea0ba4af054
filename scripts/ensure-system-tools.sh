#!/usr/bin/env bash
# Makes sure the system programs some tests drive are installed, from Debian/Ubuntu packages.
#
#   scripts/ensure-system-tools.sh browser   Debian's Chromium (the browser tests never download a
#                                            browser of their own): required, exit 1 without it
#   scripts/ensure-system-tools.sh probes    wrk (the load generator's driver tests), Prometheus
#                                            (promtool) and Alertmanager (alert unit tests, the
#                                            live observability test): optional, those tests skip
#                                            with a message naming the package when it is missing
#
# As root on a machine with apt-get, missing packages are installed; otherwise the command to
# run is printed. NOVA_NO_APT=1 only checks.
set -euo pipefail

want=()
case "${1:-}" in
  browser) required=1; checks=("chromium:/usr/bin/chromium") ;;
  probes)
    required=0
    checks=("wrk:wrk" "prometheus:promtool" "prometheus-alertmanager:prometheus-alertmanager")
    ;;
  *) echo "usage: $0 browser|probes" >&2; exit 2 ;;
esac
for check in "${checks[@]}"; do
  package="${check%%:*}"
  program="${check#*:}"
  if [ "${program#/}" != "$program" ]; then
    [ -x "$program" ] || want+=("$package")
  else
    command -v "$program" >/dev/null 2>&1 || want+=("$package")
  fi
done
[ "${#want[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && [ "${NOVA_NO_APT:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
  echo "apt-get install ${want[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${want[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq "${want[@]}" >/dev/null; }
  exit 0
fi
if [ "$required" = 1 ]; then
  echo "these tests need: sudo apt-get install -y ${want[*]}" >&2
  exit 1
fi
echo "note: the tests that drive ${want[*]} will skip (sudo apt-get install -y ${want[*]})" >&2
