#!/usr/bin/env bash
# Sets up what running Tingle needs (scripts/setup-run.sh: no test tooling, no browser), then runs
# Tingle's web app and a worker in one process (`tingle up`) with its own Redis and registry and
# the local Docker engine. Prints what it uses, the webhook URL and secret. Pass `tingle up`
# options through, e.g. --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-run.sh
export TINGLE_DOCKER_NETWORK=${TINGLE_DOCKER_NETWORK:-host}
exec .venv/bin/tingle up "$@"
