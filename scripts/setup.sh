#!/usr/bin/env bash
# Everything Tingle needs on a fresh Debian machine like this one: system packages, a virtualenv
# with Tingle and its dev tools, a running Docker engine, and the base images. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -x /usr/bin/chromium ] || missing+=(chromium)  # the browser tests drive it with Playwright
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
bash scripts/docker-engine.sh
bash scripts/base-images.sh
bash scripts/build-agents.sh python >/dev/null  # the agents the tests and templates use here
