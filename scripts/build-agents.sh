#!/usr/bin/env bash
# Builds the agent images (agents/NAME/Dockerfile → tingle/agent-NAME:latest) on the local engine.
# With no arguments, builds every agent; otherwise only those named.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${TINGLE_AGENT_IMAGE_PREFIX:-tingle/agent-}
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for dir in agents/*/; do [ -f "$dir/Dockerfile" ] && names+=("$(basename "$dir")"); done
fi
failed=()
for name in "${names[@]}"; do
  out=$(mktemp)
  if docker build --quiet --network host -t "${prefix}${name}:latest" "agents/$name" >"$out" 2>&1; then
    echo "built ${prefix}${name}:latest"
  else
    cat "$out" >&2
    failed+=("$name")
  fi
  rm -f "$out"
done
if [ ${#failed[@]} -gt 0 ]; then echo "failed: ${failed[*]}" >&2; exit 1; fi
