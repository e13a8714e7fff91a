"""Telemetry an app lost before sending it is reported by the server it sends to: a zero-code
app (``opentelemetry-instrument``, the OpenTelemetry SDK's own metrics on with
``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED=true``) ends more spans than its batch
processor's queue holds, so the SDK drops some (``queue_full``) and counts them in
``otel.sdk.processor.span.processed``; `GET /system/health` on DuckDB and on ClickHouse
names the app and says how many it lost: the spans it ended minus those stored (the SDK's
count may exceed that by the few it raced with, see the test)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from crewscope.query_api.app import create_app
from tests.helpers.engines import chdb_store
from tests.helpers.env import subprocess_env
from tests.helpers.served import API, serve_app, wait_until

SPANS = 400
SERVICE = "flooding-app"
APP = textwrap.dedent(
    f"""
    from opentelemetry import trace
    tracer = trace.get_tracer("flood")
    for i in range({SPANS}):
        with tracer.start_as_current_span(f"step {{i}}"):
            pass
    """
)


def _flood(tmp_path: Path, url: str) -> None:
    app = tmp_path / "flood.py"
    app.write_text(APP)
    bindir = Path(sys.executable).parent
    env = subprocess_env(
        OTEL_SERVICE_NAME=SERVICE, OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED="true",
        OTEL_BSP_MAX_QUEUE_SIZE="8", OTEL_BSP_MAX_EXPORT_BATCH_SIZE="8",
        OTEL_TRACES_EXPORTER="otlp", OTEL_METRICS_EXPORTER="otlp", OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_EXPORTER_OTLP_ENDPOINT=url,
        CREWSCOPE_PROCESS_METRICS="false",
    )  # fmt: skip
    proc = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), str(bindir / "python"), str(app)],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_health_reports_what_an_app_dropped(tmp_path: Path, engine: str) -> None:
    store = str(tmp_path / "losses.duckdb") if engine == "duckdb" else chdb_store("losses")
    app = create_app(store, rollup_interval_s=0, retention_days=None, self_telemetry=False)
    server, thread, port = serve_app(app)
    url = f"http://127.0.0.1:{port}"
    try:
        healthy = httpx.get(f"{url}{API}/system/health", timeout=30).json()
        [before] = [s for s in healthy["service_statuses"] if s["name"] == "app_telemetry_losses"]
        assert before["status"] == "healthy" and before["metrics"]["lost"] == 0
        _flood(tmp_path, url)

        def status() -> Any:
            body = httpx.get(f"{url}{API}/system/health", timeout=30).json()
            [s] = [s for s in body["service_statuses"] if s["name"] == "app_telemetry_losses"]
            return (body, s) if s["metrics"]["lost"] else None

        body, losses = wait_until(status, timeout=30, what="the app's loss in health")
        stored = _stored_spans(url)
        assert 0 < stored < SPANS
        assert losses["status"] == "degraded" and body["overall_status"] == "degraded"
        lost = losses["metrics"]["lost"]
        # The SDK counts a drop when it finds its queue full; an export running at that
        # moment can make room after all, so its count may exceed the loss by a batch at most.
        assert SPANS - stored <= lost <= SPANS - stored + 8, (lost, stored)
        assert losses["metrics"]["services"] == 1
        assert f"{SERVICE}: {lost} traces dropped (queue_full)" in losses["details"]
        series = f'crewscope_app_telemetry_lost{{reason="queue_full",service="{SERVICE}",'
        prom = [ln for ln in httpx.get(f"{url}/metrics", timeout=30).text.splitlines()
                if ln.startswith(series)]  # fmt: skip
        assert prom == [f'{series}signal="traces",stage="dropped"}} {float(lost)}'], prom
    finally:
        server.should_exit = True
        thread.join(30)


def _stored_spans(url: str) -> int:
    """The app's spans as the server counts them (its Prometheus ingest counter; the server
    records no spans of its own here)."""
    text = httpx.get(f"{url}/metrics", timeout=30).text
    for line in text.splitlines():
        if line.startswith('crewscope_ingest_accepted_total{signal="traces"}'):
            return int(float(line.rsplit(" ", 1)[1]))
    raise AssertionError(text[:2000])
