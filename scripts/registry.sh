#!/usr/bin/env bash
# Makes sure a Docker registry answers on 127.0.0.1:PORT: reuses one that answers /v2/ there, else
# installs Debian's docker-registry if needed and starts it in the background, storing images under
# DIR (pid in DIR/registry.pid, log in DIR/registry.log). Prints nothing but errors.
#
#   scripts/registry.sh [PORT [DIR]]    defaults: $TINGLE_REGISTRY_PORT or 5000,
#                                       $TINGLE_REGISTRY_DIR or /var/lib/tingle/registry
#   TINGLE_REGISTRY_HTPASSWD=FILE       require logins from FILE (bcrypt htpasswd entries)
#
# Docker treats 127.0.0.0/8 as an insecure registry by default: no TLS is needed to push there.
set -euo pipefail
port=${1:-${TINGLE_REGISTRY_PORT:-5000}}
dir=${2:-${TINGLE_REGISTRY_DIR:-/var/lib/tingle/registry}}
htpasswd=${TINGLE_REGISTRY_HTPASSWD:-}

answers() {  # 200, or 401 when logins are required: either way a registry is there
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/v2/" || true)
  [ "$code" = 200 ] || [ "$code" = 401 ]
}

if answers; then exit 0; fi
if ! command -v docker-registry >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
fi
mkdir -p "$dir/data"
config="$dir/config.yml"
cat >"$config" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
if [ -n "$htpasswd" ]; then
  printf 'auth:\n  htpasswd:\n    realm: tingle\n    path: %s\n' "$htpasswd" >>"$config"
fi
nohup docker-registry serve "$config" >"$dir/registry.log" 2>&1 &
echo $! >"$dir/registry.pid"
for _ in $(seq 1 100); do
  if answers; then exit 0; fi
  if ! kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null; then break; fi
  sleep 0.1
done
echo "docker-registry did not start on 127.0.0.1:$port; see $dir/registry.log" >&2
tail -20 "$dir/registry.log" >&2
exit 1
