#!/usr/bin/env bash
# Install the peer instrumentations (OpenLLMetry, OpenInference) for bench_overhead.py into
# a separate directory (default ~/.cache/crewscope/bench-peers), NOT into the venv: they
# register opentelemetry_instrumentor entry points that `opentelemetry-instrument` would
# otherwise load next to crewscope's in every zero-code test. Only the bench workers of the
# peer variants put this directory on PYTHONPATH. Their other dependencies are already in
# the venv (opentelemetry-api/sdk/instrumentation, wrapt).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${CREWSCOPE_BENCH_PEERS:-$HOME/.cache/crewscope/bench-peers}"
.venv/bin/pip install -q --no-deps --target "$DEST" \
  opentelemetry-instrumentation-crewai==0.62.4 opentelemetry-instrumentation-openai==0.62.4 \
  opentelemetry-semantic-conventions-ai==0.5.1 \
  openinference-instrumentation-crewai==1.1.21 openinference-instrumentation-openai==0.1.66 \
  openinference-instrumentation==0.1.72 openinference-semantic-conventions==0.1.42
echo "$DEST"
