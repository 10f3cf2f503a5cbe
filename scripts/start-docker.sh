#!/usr/bin/env bash
# Make a Docker engine reachable: do nothing when one answers; otherwise, as root, install Debian's
# docker.io when dockerd is missing and start dockerd in the background. It never stops anything.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "start-docker: no Docker engine answers and this is not root: run 'sudo $0'" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "start-docker: installing docker.io" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
log=/var/log/crucible-dockerd.log
echo "start-docker: starting dockerd (log: $log)" >&2
setsid nohup dockerd >"$log" 2>&1 < /dev/null &
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    echo "start-docker: engine ready" >&2
    exit 0
  fi
  sleep 0.5
done
echo "start-docker: dockerd did not answer within 60 s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
