#!/usr/bin/env bash
# What *running* Tingle needs on a fresh Debian machine like this one: system packages (Redis, git,
# curl, Debian's docker-registry for tingle up's own registry), a virtualenv with Tingle alone, a
# running Docker engine, the base images and the python agent. No test tooling, no browser: that
# is scripts/setup.sh's job (the test command's). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -e .
bash scripts/docker-engine.sh
bash scripts/base-images.sh
bash scripts/build-agents.sh python >/dev/null  # the agent the python template and tests use
