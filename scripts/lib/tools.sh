# Shared by scripts/ensure-python.sh and scripts/ensure-node.sh (sourced, not run).
# Nova installs the tools a machine lacks into .nova/tools: a venv of its own (so the system
# Python, "externally managed" on Debian and Ubuntu, is never touched) and bin/ for the links.
tools="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.nova/tools"
export PATH="$tools/bin:$PATH"

# apt-get install, when running as root on a machine with apt; fails otherwise.
apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  echo "installing $* with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$@" >&2 \
    || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "$@" >&2; }
}

# Prints the path of Nova's tool venv, creating it when missing.
tool_venv() {
  if [ ! -x "$tools/venv/bin/pip" ]; then
    mkdir -p "$tools"
    if ! python3 -m venv "$tools/venv" >&2; then
      rm -rf "$tools/venv"
      if ! { apt_install python3-venv && python3 -m venv "$tools/venv" >&2; }; then
        echo "python3 cannot create a virtual environment: install python3-venv" \
          "(sudo apt-get install -y python3-venv) and run this again" >&2
        return 1
      fi
    fi
  fi
  mkdir -p "$tools/bin"
  echo "$tools/venv"
}
