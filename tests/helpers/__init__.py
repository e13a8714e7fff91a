"""Helpers shared by the tests (conftest.py files hold only fixtures).

- `env`: the network guard's directory and the environment for test subprocesses.
- `served`: a real `crewscope serve` app under uvicorn in a thread.
- `spans`: crew runs as OpenTelemetry SDK spans, landed through the exporter's row conversion.
- `seed`: the generated query API database and a record of what went into it.
- `metrics`: lookups in collected OTel metrics.
- `otlp`, `prometheus`, `processes`: OTLP bodies, a real Prometheus, CPU-burning children.
"""
