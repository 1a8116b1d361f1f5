#!/usr/bin/env bash
# Runs Tingle's benchmarks on this machine: bench/results/results.json and REPORT.md.
# Installs what the benchmarks need and the tests do not: wrk (Debian) and py-spy (PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
[ -x .venv/bin/py-spy ] || .venv/bin/pip install -q --disable-pip-version-check py-spy
docker info >/dev/null 2>&1 || bash scripts/docker-engine.sh
docker image inspect tingle/busybox:latest >/dev/null 2>&1 || bash scripts/base-images.sh
exec .venv/bin/python -m bench "$@"
