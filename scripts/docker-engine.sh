#!/usr/bin/env bash
# Makes sure a Docker engine answers: reuses a running one, else installs Debian's docker.io if
# needed and starts dockerd in the background (overlay2; no bridge or iptables on these machines,
# so a container on the default `bridge` network gets a network namespace with loopback only:
# the same isolation as `none`, and here about 130 ms faster to start). Prints nothing but
# errors when all is ready.
set -euo pipefail
log=${TINGLE_DOCKERD_LOG:-/var/log/tingle-dockerd.log}
pidfile=/var/run/tingle-dockerd.pid

if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "installing docker.io (Debian package)..." >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if [ "$(id -u)" != 0 ]; then echo "starting dockerd needs root" >&2; exit 1; fi
nohup dockerd --storage-driver=overlay2 --iptables=false --bridge=none >"$log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 150); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 0.2
done
echo "dockerd did not start; see $log" >&2
tail -20 "$log" >&2
exit 1
