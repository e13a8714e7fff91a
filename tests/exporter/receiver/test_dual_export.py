"""`OTEL_TRACES_EXPORTER=duckdb,otlp`: the zero-code app writes its own DuckDB file and sends
the same spans over OTLP to `crewscope serve` (or a Collector) at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from tests.helpers.env import subprocess_env

APP = """
import os
from crewscope.demo.crew import build_crew, make_llm
build_crew(make_llm(os.environ["FAKE_LLM_URL"])).kickoff(inputs={"topic": "dual"})
"""


def test_duckdb_and_otlp_exporters_together(served, tmp_path: Path, llm_server):
    app = tmp_path / "app.py"
    app.write_text(APP)
    local_db = tmp_path / "local.duckdb"
    env = subprocess_env(
        FAKE_LLM_URL=llm_server.base_url,
        CREWSCOPE_DB=str(local_db),
        OTEL_SERVICE_NAME="dual-app",
        OTEL_TRACES_EXPORTER="duckdb,otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=served.url,
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
    )
    bindir = Path(sys.executable).parent
    proc = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), str(bindir / "python"), str(app)],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    sql = (
        "SELECT SpanId, ParentSpanId, SpanName, StatusCode, InputTokens, OutputTokens "
        "FROM otel_traces WHERE ServiceName = 'dual-app' ORDER BY SpanId"
    )
    con = duckdb.connect(str(local_db), read_only=True)
    local = con.execute(sql).fetchall()
    con.close()
    assert len(local) == 10
    assert served.rows(sql) == local
