#!/usr/bin/env bash
# Set up everything Crucible needs on a fresh Debian machine: system packages (as root: debootstrap,
# chromium and chromium-driver, openssh-server, npm, docker.io when no engine answers), a running Docker
# engine, and the Python environment in .venv with Crucible installed in it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Run a long, quiet command with a line every 20 s, so that a log (CI, a pipe) never looks hung.
with_heartbeat() {
  local label=$1 started=$SECONDS
  shift
  echo "setup: $label" >&2
  "$@" &
  local pid=$!
  while ! wait_for "$pid" 20; do echo "setup: still $label ($((SECONDS - started)) s)" >&2; done
  wait "$pid"
}
wait_for() {  # true once process $1 has ended, false after $2 seconds
  local i
  for ((i = 0; i < $2; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 1; done
  ! kill -0 "$1" 2>/dev/null
}

missing=()
# docker.io only when no engine answers and dockerd is absent; debootstrap builds the offline base image.
if ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null 2>&1; then missing+=(docker.io); fi
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
# Debian's Chromium and its driver, for the tests that open the HTML report in a real browser.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
# sshd, for the test of ssh:// engines (a server on a loopback port, started by the test itself)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
# npm fetches the pinned Claude Code binary (the platform package) for the claude-code runtime's image
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}' and try again" >&2
    exit 1
  fi
  with_heartbeat "updating the package lists" apt-get update -qq
  with_heartbeat "installing ${missing[*]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

scripts/start-docker.sh

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
pip_install() {
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,ray]' 2>&1 | grep -v "is ignored" || true
}
with_heartbeat "installing Crucible and its Python dependencies into .venv" pip_install
.venv/bin/python -c "import harness" || { echo "setup: installing Crucible into .venv failed" >&2; exit 1; }
echo "setup: ready (.venv/bin/crucible)" >&2
