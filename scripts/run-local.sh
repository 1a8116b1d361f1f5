#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh), then runs Tingle's web app and a worker in one
# process against a local Redis (reused on 127.0.0.1:6379, else started) and the local Docker
# engine. Prints the webhook URL and secret. Pass `tingle up` options through, e.g. --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TINGLE_DOCKER_NETWORK=${TINGLE_DOCKER_NETWORK:-host}
exec .venv/bin/tingle up "$@"
