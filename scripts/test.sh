#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh) and runs every check: ruff (lint, complexity, format),
# mypy (strict, over tingle, tests, bench and testing: pyproject's [tool.mypy]), the import rules of
# ARCHITECTURE.md (lint-imports: pyproject's [tool.importlinter]), then the tests on a
# real Redis and a real Docker engine (pytest: warnings are errors, a timeout per test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
.venv/bin/pytest -q "$@"
