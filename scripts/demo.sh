#!/usr/bin/env bash
# Main job: install, run the sample crew instrumented into ./crewscope.duckdb, print the
# summary, then serve the query API on http://127.0.0.1:8000 (Ctrl-C to stop).
source "$(dirname "$0")/_venv.sh" crewai,server  # the crew, then `crewscope serve`
export CREWSCOPE_DB=${CREWSCOPE_DB:-$PWD/crewscope.duckdb}
.venv/bin/crewscope demo --db "$CREWSCOPE_DB" "$@"
exec .venv/bin/crewscope serve --db "$CREWSCOPE_DB"
