#!/usr/bin/env bash
# Prepares compose.yaml's .env on this host, the one place its host facts are found:
#   - ENV_FILE (default .env) from .env.example when missing; existing values are kept;
#   - DOCKER_GID: the group owning the Docker socket (DOCKER_SOCKET, default
#     /var/run/docker.sock), which workers get through group_add;
#   - TINGLE_WEBHOOK_SECRET, generated when empty;
#   - the host folders workers write and steps mount (TINGLE_WORKSPACES, TINGLE_BUILD_SECRETS)
#     and the secret store (TINGLE_SECRETS_STORE), made owned by TINGLE_UID, mode 0700.
#   bash scripts/compose-env.sh [ENV_FILE]
# Run as root (the folders' owner changes); safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
env_file=${1:-.env}
socket=${DOCKER_SOCKET:-/var/run/docker.sock}
[ -f "$env_file" ] || cp .env.example "$env_file"

value() {  # the value of NAME in the env file, or $2
  local line
  line=$(grep -E "^$1=" "$env_file" | tail -1 || true)
  if [ -n "$line" ]; then echo "${line#*=}"; else echo "${2:-}"; fi
}
set_value() {  # NAME=VALUE in the env file: in place of the first NAME= line, else at the end
  local tmp
  tmp=$(mktemp "$env_file.XXXXXX")
  awk -v name="$1" -v value="$2" '
    index($0, name "=") == 1 { if (!done) print name "=" value; done = 1; next }
    { print }
    END { if (!done) print name "=" value }
  ' "$env_file" >"$tmp"
  mv "$tmp" "$env_file"
}

if [ ! -S "$socket" ]; then
  echo "no Docker socket at $socket (set DOCKER_SOCKET); is the engine running?" >&2
  exit 1
fi
set_value DOCKER_GID "$(stat -c %g "$socket")"
if [ -z "$(value TINGLE_WEBHOOK_SECRET)" ]; then
  set_value TINGLE_WEBHOOK_SECRET "$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
fi
chmod 600 "$env_file"  # it holds the webhook secret

uid=$(value TINGLE_UID 10001)
for name in TINGLE_WORKSPACES TINGLE_BUILD_SECRETS TINGLE_SECRETS_STORE; do
  folder=$(value "$name")
  [ -n "$folder" ] || { echo "$name is empty in $env_file" >&2; exit 1; }
  case $folder in /*) ;; *) echo "$name must be an absolute host path: $folder" >&2; exit 1 ;; esac
  if [ "$(id -u)" = 0 ]; then
    install -d -o "$uid" -g "$uid" -m 0700 "$folder"
    chown "$uid:$uid" "$folder" && chmod 0700 "$folder"  # install -d leaves an existing one as is
  elif [ ! -d "$folder" ] || [ "$(stat -c %u "$folder")" != "$uid" ]; then
    echo "$name $folder must be a folder of uid $uid: as root, install -d -o $uid -g $uid -m 0700 $folder" >&2
    exit 1
  fi
done
echo "$env_file: DOCKER_GID=$(value DOCKER_GID); folders of uid $uid ready"
