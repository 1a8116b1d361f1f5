#!/usr/bin/env bash
# Everything the tests need on a fresh Debian machine like this one: what running Tingle needs
# (scripts/setup-run.sh), then the test tooling (Tingle's dev extras) and Debian's chromium for
# the browser tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-run.sh
if [ ! -x /usr/bin/chromium ]; then  # the browser tests drive it with Playwright
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
