"""DuckDBMetricExporter: gauge/sum/histogram round trip, sharing the file with the span
exporter, lock and shutdown behaviour, entry-point style loading, and a real crew run."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from crewscope.demo.crew import build_crew, make_llm
from crewscope.exporter import DuckDBSpanExporter
from crewscope.exporter.metric_exporter import DuckDBMetricExporter


def _sql(path: Path | str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def _collect(exporter: DuckDBMetricExporter, record: Any) -> MetricExportResult:
    """Record with a fresh provider whose reader uses the exporter's temporality, export."""
    reader = InMemoryMetricReader(preferred_temporality=exporter._preferred_temporality)
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "metrics-test"})
    )
    record(provider.get_meter("tests.metrics", "1.2.3"))
    data = reader.get_metrics_data()
    provider.shutdown()
    return exporter.export(data)


def _record_all(meter: Any) -> None:
    meter.create_counter("crewscope.agent.executions", unit="{execution}").add(
        2, {"gen_ai.agent.name": "Researcher", "crewscope.execution.status": "success"}
    )
    hist = meter.create_histogram(
        "gen_ai.client.token.usage", unit="{token}", explicit_bucket_boundaries_advisory=[1, 4, 16]
    )
    hist.record(3, {"gen_ai.token.type": "input"})
    hist.record(10, {"gen_ai.token.type": "input"})
    meter.create_observable_gauge(
        "process.cpu.utilization",
        callbacks=[lambda o: [Observation(0.25, {"process.pid": 42})]],
        unit="1",
    )
    meter.create_observable_up_down_counter(
        "process.memory.usage",
        callbacks=[lambda o: [Observation(1234, {"process.pid": 42})]],
        unit="By",
    )


def test_round_trip_gauge_sum_histogram(tmp_path):
    db = tmp_path / "m.duckdb"
    exp = DuckDBMetricExporter(str(db))
    assert _collect(exp, _record_all) is MetricExportResult.SUCCESS
    assert exp.stats.points_written == 4 and exp.stats.batches_written == 1
    exp.shutdown()

    [gauge] = _sql(
        db,
        'SELECT "ServiceName", "ScopeName", "ScopeVersion", "MetricName", "MetricUnit", '
        '"Attributes", "Value", "TimeUnix" IS NOT NULL, "ResourceAttributes"[\'service.name\'] '
        "FROM otel_metrics_gauge",
    )
    assert gauge == (
        "metrics-test", "tests.metrics", "1.2.3", "process.cpu.utilization", "1",
        {"process.pid": "42"}, 0.25, True, "metrics-test",
    )  # fmt: skip
    sums = _sql(
        db,
        'SELECT "MetricName", "Attributes", "Value", "AggregationTemporality", "IsMonotonic", '
        '"StartTimeUnix" <= "TimeUnix" FROM otel_metrics_sum ORDER BY "MetricName"',
    )
    assert sums == [
        (
            "crewscope.agent.executions",
            {"gen_ai.agent.name": "Researcher", "crewscope.execution.status": "success"},
            2.0, 1, True, True,  # DELTA counter
        ),
        ("process.memory.usage", {"process.pid": "42"}, 1234.0, 2, False, True),  # CUMULATIVE
    ]  # fmt: skip
    [hist] = _sql(
        db,
        'SELECT "MetricName", "MetricUnit", "Attributes", "Count", "Sum", "BucketCounts", '
        '"ExplicitBounds", "Min", "Max", "AggregationTemporality" FROM otel_metrics_histogram',
    )
    assert hist == (
        "gen_ai.client.token.usage", "{token}", {"gen_ai.token.type": "input"},
        2, 13.0, [0, 1, 1, 0], [1.0, 4.0, 16.0], 3.0, 10.0, 1,
    )  # fmt: skip


def test_shares_the_file_with_the_span_exporter(tmp_path):
    db = str(tmp_path / "shared.duckdb")
    spans = DuckDBSpanExporter(db)
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    with tp.get_tracer("t").start_as_current_span("invoke_workflow crew"):
        pass
    assert spans.stats.spans_written == 1  # the span exporter holds the file open
    mexp = DuckDBMetricExporter(db)
    assert _collect(mexp, _record_all) is MetricExportResult.SUCCESS
    with spans.store.cursor() as cur:  # type: ignore[union-attr]
        assert cur.execute("SELECT count(*) FROM otel_metrics_sum").fetchone() == (2,)
    mexp.shutdown()  # closing one leaves the other working
    with tp.get_tracer("t").start_as_current_span("invoke_workflow crew"):
        pass
    tp.shutdown()
    assert _sql(db, "SELECT count(*) FROM otel_traces") == [(2,)]
    assert _sql(db, "SELECT count(*) FROM otel_metrics_histogram") == [(1,)]


def test_export_after_shutdown_fails_and_counts(tmp_path):
    exp = DuckDBMetricExporter(str(tmp_path / "s.duckdb"))
    exp.shutdown()
    assert _collect(exp, _record_all) is MetricExportResult.FAILURE
    assert exp.stats.state == "shutdown"
    assert exp.stats.dropped_by_reason == {"shutdown": 4}
    assert exp.force_flush() is True


HOLD_LOCK = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


def test_locked_file_warns_once_then_recovers(tmp_path, caplog):
    db = str(tmp_path / "locked.duckdb")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, db],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        exp = DuckDBMetricExporter(db, retry_interval_s=0.1)
        with caplog.at_level(logging.DEBUG, logger="crewscope.exporter"):
            results = []
            for _ in range(3):
                results.append(_collect(exp, _record_all))
                time.sleep(0.15)
        assert results == [MetricExportResult.FAILURE] * 3
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "locked by another process" in warnings[0].getMessage()
        assert exp.stats.state == "locked" and exp.stats.dropped_by_reason == {"locked": 12}
    finally:
        holder.communicate("", timeout=30)
    time.sleep(0.15)
    assert _collect(exp, _record_all) is MetricExportResult.SUCCESS
    assert exp.stats.state == "open"
    exp.shutdown()


def test_export_never_raises(tmp_path):
    exp = DuckDBMetricExporter(str(tmp_path / "x.duckdb"))
    assert exp.export(object()) is MetricExportResult.FAILURE  # type: ignore[arg-type]
    assert exp.stats.last_error and "AttributeError" in exp.stats.last_error
    exp.shutdown()


def test_no_arg_construction_as_opentelemetry_instrument_does(tmp_path, monkeypatch):
    """``--metrics_exporter duckdb`` loads the class from the entry point, calls it with no
    arguments and wraps it in a PeriodicExportingMetricReader."""
    from importlib.metadata import entry_points

    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("CREWSCOPE_DB", str(db))
    found = [
        ep.load()
        for ep in entry_points(group="opentelemetry_metrics_exporter")
        if ep.name == "duckdb"
    ]
    cls = found[0] if found else DuckDBMetricExporter  # before the entry point is registered
    assert cls is DuckDBMetricExporter
    exporter = cls()
    assert exporter.path == str(db)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("zero").create_counter("c").add(1)
    provider.shutdown()  # the final collection is exported
    assert _sql(db, 'SELECT "MetricName", "Value" FROM otel_metrics_sum') == [("c", 1.0)]


@pytest.mark.timeout(120)
def test_configure_real_crew_lands_metrics_and_spans_in_one_file(tmp_path, llm_server):
    from crewscope.instrumentation.configure import configure

    db = str(tmp_path / "crew.duckdb")
    telemetry = configure(
        service_name="metrics-crew",
        exporters=["duckdb"],
        metrics_exporters=["duckdb"],
        db_path=db,
        set_global=False,
        metrics_interval_millis=200,
    )
    try:
        build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "otel"})
        time.sleep(0.5)  # a few periodic collections (delta rows) while the file is shared
    finally:
        telemetry.shutdown()
    calls = llm_server.calls
    rows = _sql(
        db,
        'SELECT "Attributes"[\'gen_ai.token.type\'], sum("Sum"), sum("Count") '
        "FROM otel_metrics_histogram WHERE \"MetricName\" = 'gen_ai.client.token.usage' "
        "AND \"ServiceName\" = 'metrics-crew' GROUP BY 1 ORDER BY 1",
    )
    assert rows == [
        ("input", sum(c.prompt_tokens for c in calls), len(calls)),
        ("output", sum(c.completion_tokens for c in calls), len(calls)),
    ]
    [(ops,)] = _sql(
        db,
        'SELECT sum("Count") FROM otel_metrics_histogram '
        "WHERE \"MetricName\" = 'gen_ai.client.operation.duration'",
    )
    assert ops == len(calls)
    executions = _sql(
        db,
        'SELECT "Attributes"[\'gen_ai.agent.name\'], sum("Value") FROM otel_metrics_sum '
        "WHERE \"MetricName\" = 'crewscope.agent.executions' GROUP BY 1 ORDER BY 1",
    )
    assert executions == [("Researcher", 1.0), ("Writer", 1.0)]
    [(rss,)] = _sql(
        db,
        'SELECT max("Value") FROM otel_metrics_sum WHERE "MetricName" = \'process.memory.usage\'',
    )
    assert rss > 10 * 1024 * 1024
    assert _sql(db, "SELECT count(*) > 5 FROM otel_traces") == [(True,)]
