#!/usr/bin/env bash
# Install everything the tests need into ./.venv, lint, type-check and run the test suite.
source "$(dirname "$0")/_venv.sh" dev
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy"
.venv/bin/mypy instrumentation exporter query_api demo
echo "==> pytest"
.venv/bin/pytest "$@"
