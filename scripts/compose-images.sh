#!/usr/bin/env bash
# Builds the images compose.yaml runs besides Tingle's own, on machines that cannot pull
# `redis:7` or `registry:2`: tingle/redis:local and tingle/registry:local (compose/redis,
# compose/registry: Debian's redis-server and docker-registry on tingle/debian:bookworm, made by
# scripts/base-images.sh). An image already there is kept; --rebuild builds them again.
# Machines that can pull set TINGLE_REDIS_IMAGE=redis:7 TINGLE_REGISTRY_IMAGE=registry:2 in .env
# instead and need none of this.
set -euo pipefail
cd "$(dirname "$0")/.."
rebuild=false
[ "${1:-}" = --rebuild ] && rebuild=true
bash scripts/base-images.sh
for name in redis registry; do
  image="tingle/$name:local"
  if ! $rebuild && docker image inspect "$image" >/dev/null 2>&1; then continue; fi
  out=$(mktemp)
  if docker build --quiet --network host -t "$image" "compose/$name" >"$out" 2>&1; then
    echo "built $image"
  else
    cat "$out" >&2
    rm -f "$out"
    exit 1
  fi
  rm -f "$out"
done
