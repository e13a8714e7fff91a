"""Zero-code metrics: ``OTEL_METRICS_EXPORTER=duckdb opentelemetry-instrument python app.py``
loads `DuckDBMetricExporter` through its ``opentelemetry_metrics_exporter`` entry point and
lands an app's metrics in the ``otel_metrics_*`` tables of ``CREWSCOPE_DB``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

APP = """
from opentelemetry import metrics
from opentelemetry.metrics import Observation

meter = metrics.get_meter("zero.app", "1.2.3")
requests = meter.create_counter("app.requests", unit="{request}", description="Requests")
latency = meter.create_histogram("app.latency", unit="s")
meter.create_observable_gauge(
    "app.queue.depth", callbacks=[lambda options: [Observation(7, {"queue": "jobs"})]]
)
requests.add(3, {"route": "/a"})
requests.add(2, {"route": "/a"})
requests.add(1, {"route": "/b"})
latency.record(0.25, {"route": "/a"})
latency.record(0.75, {"route": "/a"})
# no explicit flush: the SDK's shutdown at exit makes the last collection and export
"""


def test_opentelemetry_instrument_writes_metrics_through_the_entry_point(tmp_path, query):
    db = tmp_path / "nested" / "metrics.duckdb"  # missing folders are created
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {
        **os.environ,
        "CREWSCOPE_DB": str(db),
        "OTEL_SERVICE_NAME": "zero-code-metrics",
        "OTEL_METRICS_EXPORTER": "duckdb",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_METRIC_EXPORT_INTERVAL": "600000",  # only the collection at shutdown
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "crewai",  # keep this test about the exporter
    }
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    proc = subprocess.run(
        [str(instrument), sys.executable, str(app)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert db.exists(), proc.stderr[-3000:]

    sums = query(
        str(db),
        """SELECT MetricName, MetricUnit, Attributes['route'], Value, AggregationTemporality,
                  IsMonotonic, ServiceName, ScopeName, ScopeVersion
           FROM otel_metrics_sum ORDER BY 3""",
    )
    delta = 1  # counters are written as DELTA (see metric_exporter.DEFAULT_TEMPORALITY)
    scope = ("zero-code-metrics", "zero.app", "1.2.3")
    assert sums == [
        ("app.requests", "{request}", "/a", 5.0, delta, True, *scope),
        ("app.requests", "{request}", "/b", 1.0, delta, True, *scope),
    ]
    hist = query(
        str(db),
        """SELECT MetricName, MetricUnit, Count, "Sum", "Min", "Max", ServiceName
           FROM otel_metrics_histogram""",
    )
    assert hist == [("app.latency", "s", 2, pytest.approx(1.0), 0.25, 0.75, "zero-code-metrics")]
    gauges = query(
        str(db),
        "SELECT MetricName, Attributes['queue'], Value, ServiceName FROM otel_metrics_gauge",
    )
    assert gauges == [("app.queue.depth", "jobs", 7.0, "zero-code-metrics")]
