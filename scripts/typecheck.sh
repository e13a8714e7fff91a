#!/usr/bin/env bash
# Type-check the packages under their installed names. The folders become crewscope.* only
# through setuptools' package-dir mapping, which mypy cannot follow (every crewscope import
# would silently be Any), so a link tree build/typecheck/crewscope/ gives mypy the real
# module names. instrumentation/ and exporter/ are checked with --strict.
set -euo pipefail
cd "$(dirname "$0")/.."
root=build/typecheck/crewscope
mkdir -p "$root"
for d in instrumentation exporter query_api demo; do ln -sfn "../../../$d" "$root/$d"; done
export MYPYPATH=build/typecheck
.venv/bin/mypy -p crewscope.query_api -p crewscope.demo
.venv/bin/mypy --strict -p crewscope.instrumentation -p crewscope.exporter
