"""Metrics and logs on both engines: one instrumented process sends the same spans, process
and GenAI metrics and log records, through the official OTLP/HTTP exporters, to a DuckDB
`crewscope serve` and to one on embedded ClickHouse (``--store chdb://...``); the process
stats, logs, log export and Prometheus answers are the same, and ClickHouse holds the rows
in the Collector exporter's otel_metrics_* / otel_logs columns.

The exporter's metric tables keep times in whole seconds (``DateTime``): samples are taken
just after a whole second, so the ClickHouse answer is the DuckDB one with times truncated
to the second (a CPU rate is over whole-second intervals there: equal within 5 %)."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from prometheus_client.parser import text_string_to_metric_families

from crewscope.demo.crew import build_crew, make_llm, word_counter_tool
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.instrumentation._log_context import install_run_context, logging_handler
from crewscope.query_api.app import create_app
from crewscope.query_api.store.clickhouse.exporter_ddl import insert_columns
from tests.helpers.chdb import chdb_client
from tests.helpers.engines import chdb_store
from tests.helpers.served import API, serve_app

SERVICE = "signals-crew"
PID = os.getpid()
SAMPLES = 4
METRIC_TABLES = {
    "otel_metrics_gauge": "metrics_gauge_insert.sql",
    "otel_metrics_sum": "metrics_sum_insert.sql",
    "otel_metrics_histogram": "metrics_histogram_insert.sql",
}


class Tee(MetricExporter):
    """One collection exported to several exporters (the same points to both servers)."""

    def __init__(self, exporters: Sequence[MetricExporter]) -> None:
        super().__init__()
        self.exporters = list(exporters)
        self.stopped = False
        """Set before the provider's shutdown, whose last collection is then not sent."""

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        if self.stopped:
            return MetricExportResult.SUCCESS
        results = [e.export(metrics_data, timeout_millis=timeout_millis) for e in self.exporters]
        ok = all(r is MetricExportResult.SUCCESS for r in results)
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return all(e.force_flush(timeout_millis) for e in self.exporters)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        for e in self.exporters:
            e.shutdown(timeout_millis=timeout_millis)


@dataclass
class Signals:
    duck: str
    click: str
    database: str
    duck_app: Any
    start: datetime
    end: datetime
    run_ids: list[str]
    sample_times: list[int]


def _collect_after_whole_second(meters: MeterProvider) -> int:
    """Collect (and export) 0.1 s after the next whole second; that second (unix)."""
    now = time.time()
    second = int(now) + 1
    time.sleep(second + 0.1 - now)
    assert meters.force_flush(20_000)
    return second


def _get(url: str, path: str, **params: Any) -> Any:
    r = httpx.get(f"{url}{path}", params=params, timeout=30)
    assert r.status_code == 200, (path, r.text)
    return r


@pytest.fixture(scope="module")
def signals(fake_llm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signals]:
    tmp = tmp_path_factory.mktemp("signals")
    store = chdb_store("signals")
    database = store.rpartition("database=")[2]
    duck_app = create_app(str(tmp / "signals.duckdb"), rollup_interval_s=0, retention_days=None)
    click_app = create_app(store, rollup_interval_s=0, retention_days=None)
    servers = [serve_app(duck_app), serve_app(click_app)]
    duck, click = (f"http://127.0.0.1:{port}" for _, _, port in servers)
    urls = (duck, click)
    resource = Resource.create({"service.name": SERVICE, "process.pid": PID})
    tracer = TracerProvider(resource=resource)
    for url in urls:
        tracer.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{url}/v1/traces")))
    tee = Tee([OTLPMetricExporter(f"{url}/v1/metrics") for url in urls])
    reader = PeriodicExportingMetricReader(
        tee,
        export_interval_millis=3_600_000,  # collected by hand, just after a whole second
    )
    meters = MeterProvider(metric_readers=[reader], resource=resource)
    loggers = LoggerProvider(resource=resource)
    install_run_context(loggers)
    for url in urls:
        loggers.add_log_record_processor(
            SimpleLogRecordProcessor(OTLPLogExporter(f"{url}/v1/logs"))
        )
    handler = logging_handler(loggers, level=logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer, meter_provider=meters, logger_provider=loggers,
        process_metrics=True, capture_content="SPAN_AND_EVENT",
    )  # fmt: skip
    start = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=1)
    fake_llm.reset()
    app_log = logging.getLogger("signals.app")
    app_log.setLevel(logging.INFO)
    sample_times: list[int] = []
    try:
        sample_times.append(_collect_after_whole_second(meters))
        llm = make_llm(fake_llm.base_url, max_retries=0)
        app_log.info("before the crews: no trace")
        build_crew(llm, name="signal_crew").kickoff(inputs={"topic": "logs"})
        sample_times.append(_collect_after_whole_second(meters))
        build_crew(llm, name="noisy_crew", tool=word_counter_tool(fail=True)).kickoff(
            inputs={"topic": "metrics"}
        )
        with tracer.get_tracer("signals").start_as_current_span("manual work"):
            app_log.error('inside a span: path /a/b "quoted" é')
        for _ in range(SAMPLES - 2):
            sample_times.append(_collect_after_whole_second(meters))
    finally:
        root.removeHandler(handler)
        instrumentor.uninstrument()
        tracer.shutdown()
        tee.stopped = True
        meters.shutdown()
        loggers.shutdown()
        fake_llm.reset()
    end = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(minutes=1)
    runs = _get(duck, f"{API}/runs").json()["runs"]
    try:
        yield Signals(
            duck, click, database, duck_app, start, end, [r["run_id"] for r in runs], sample_times
        )
    finally:
        for server, thread, _ in servers:
            server.should_exit = True
            thread.join(15)


def _truncated(value: str) -> str:
    """An ISO time (as the API writes it) truncated to the second."""
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return stamp.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def test_process_stats_same(signals: Signals) -> None:
    duck = _get(signals.duck, f"{API}/metrics/process").json()
    click = _get(signals.click, f"{API}/metrics/process").json()
    (d,) = duck["processes"]
    (c,) = click["processes"]
    assert d["service"] == SERVICE and d["pid"] == PID
    assert d["threads"] and d["memory_mb"] and d["context_switches"] is not None
    d_time, c_time = d.pop("timestamp"), c.pop("timestamp")
    assert _truncated(d_time) == _truncated(c_time)
    assert datetime.fromisoformat(c_time.replace("Z", "+00:00")).microsecond == 0
    assert int(datetime.fromisoformat(c_time.replace("Z", "+00:00")).timestamp()) == max(
        signals.sample_times
    )
    assert c == d
    one = _get(signals.click, f"{API}/metrics/process", service=SERVICE, pid=PID).json()
    assert len(one["processes"]) == 1
    none = _get(signals.click, f"{API}/metrics/process", pid=PID + 1).json()
    assert none["processes"] == []


def test_process_series_same(signals: Signals) -> None:
    params = {
        "resolution": "10s",
        "start": signals.start.isoformat() + "Z",
        "end": signals.end.isoformat() + "Z",
    }
    duck = _get(signals.duck, f"{API}/metrics/process/series", **params).json()
    click = _get(signals.click, f"{API}/metrics/process/series", **params).json()
    assert [(s["service"], s["pid"]) for s in duck["series"]] == [(SERVICE, PID)]
    assert [(s["service"], s["pid"]) for s in click["series"]] == [(SERVICE, PID)]
    d_points, c_points = duck["series"][0]["points"], click["series"][0]["points"]
    assert sum(p["samples"] for p in d_points) == SAMPLES
    assert len(d_points) == len(c_points)
    rated = 0
    for d, c in zip(d_points, c_points, strict=True):
        assert d.keys() == c.keys()
        for key in d:
            if key == "cpu_cores" and d[key] is not None:
                rated += 1
                assert c[key] == pytest.approx(d[key], rel=0.05, abs=1e-3), (d, c)
            elif isinstance(d[key], float):
                assert c[key] == pytest.approx(d[key], rel=1e-9), (key, d, c)
            else:
                assert c[key] == d[key], (key, d, c)
    assert rated >= 1  # a CPU rate between consecutive samples was computed on both


def _logs(url: str, path: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = _get(url, f"{API}{path}", **params).json()
    return body


def test_logs_same(signals: Signals) -> None:
    duck = _logs(signals.duck, "/logs", limit=100)
    click = _logs(signals.click, "/logs", limit=100)
    assert duck["total"] == click["total"] and duck["total"] >= 4
    records = duck["logs"]
    for offset in range(0, duck["total"], 100):  # every page, newest first
        d = _logs(signals.duck, "/logs", limit=100, offset=offset)
        assert _logs(signals.click, "/logs", limit=100, offset=offset) == d, offset
        records += d["logs"] if offset else []
    assert len(records) == duck["total"]
    bodies = [r["body"] for r in records]
    assert "before the crews: no trace" in bodies
    tied = [r for r in records if r["span_id"] and r["run_id"]]
    assert tied and all(r["trace_id"] for r in tied)
    assert {r["crew"] for r in tied} >= {"signal_crew", "noisy_crew"}
    assert any(r["event_name"] and r["body"] is None for r in records)  # GenAI events
    warn = [r for r in records if r["severity"] == "warn"]
    tool_warnings = [r for r in warn if r["scope"] == "crewscope.demo.tools"]
    assert tool_warnings and all(r["crew"] == "noisy_crew" and r["task"] for r in tool_warnings)
    for params in (
        {"severity": "warn"},
        {"crew": "noisy_crew"},
        {"agent": tied[0]["agent"]},
        {"service": SERVICE, "limit": 3, "offset": 2},
        {"start": records[len(records) // 2]["time"]},
        {"end": records[len(records) // 2]["time"]},
    ):
        d, c = _logs(signals.duck, "/logs", **params), _logs(signals.click, "/logs", **params)
        assert d["total"] and c == d, params
    for run_id in signals.run_ids:
        d = _logs(signals.duck, f"/runs/{run_id}/logs", limit=100)
        c = _logs(signals.click, f"/runs/{run_id}/logs", limit=100)
        assert d["total"] and c == d, run_id
    r = httpx.get(f"{signals.click}{API}/runs/{'0' * 16}/logs", timeout=30)
    assert r.status_code == 404
    # Text search: a word of the tool's warnings; LIKE's wildcards and the escape character
    # are searched for literally on both engines.
    word = str(tool_warnings[0]["body"]).split()[0]
    for q in (word, word.upper(), "%", "_", "!", "100%_!x"):
        d, c = _logs(signals.duck, "/logs", q=q), _logs(signals.click, "/logs", q=q)
        assert c == d, q
        if q in (word, word.upper()):
            assert d["total"] >= len(tool_warnings)
    tasks = httpx.get(f"{signals.duck}{API}/tasks", params={"limit": 100}, timeout=30).json()
    with_logs = 0
    for task in tasks["tasks"]:
        d = _logs(signals.duck, f"/tasks/{task['task_id']}/logs", limit=100)
        c = _logs(signals.click, f"/tasks/{task['task_id']}/logs", limit=100)
        assert c == d, task["task_id"]
        with_logs += bool(d["total"])
    assert with_logs >= 1


def test_log_export_same(signals: Signals) -> None:
    for fmt in ("json", "csv"):
        for params in ({}, {"crew": "noisy_crew"}):
            d = _get(signals.duck, f"{API}/export/logs", format=fmt, **params).text
            c = _get(signals.click, f"{API}/export/logs", format=fmt, **params).text
            assert c == d, (fmt, params)
            if fmt == "json":
                rows = json.loads(d)
                assert rows and all(isinstance(json.loads(x["attributes"]), dict) for x in rows)
                assert all(x["crew"] == "noisy_crew" for x in rows) or not params
                assert any("/" in x["attributes"] and "\\/" not in x["attributes"] for x in rows)
            else:
                assert len(list(csv.reader(io.StringIO(d)))) > 1


def _families(url: str) -> dict[str, list[tuple[str, tuple[tuple[str, str], ...], float]]]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    wanted = ("agent_execution", "agent_success_rate", "crewscope_runs", "crewscope_llm")
    out: dict[str, list[tuple[str, tuple[tuple[str, str], ...], float]]] = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith(wanted):
            out[family.name] = sorted(
                (s.name, tuple(sorted(s.labels.items())), s.value) for s in family.samples
            )
    return out


def test_prometheus_same(signals: Signals) -> None:
    duck, click = _families(signals.duck), _families(signals.click)
    assert set(duck) >= {
        "agent_execution", "agent_execution_duration_seconds", "agent_success_rate",
        "crewscope_runs", "crewscope_llm_calls", "crewscope_llm_tokens", "crewscope_llm_cost_usd",
    }  # fmt: skip
    assert duck.keys() == click.keys()
    for name, samples in duck.items():
        assert len(click[name]) == len(samples), name
        for (dn, dl, dv), (cn, cl, cv) in zip(samples, click[name], strict=True):
            assert (cn, cl) == (dn, dl)
            assert cv == pytest.approx(dv, rel=1e-9, abs=1e-12), (name, dl)
    runs = {dict(labels)["name"]: v for _, labels, v in duck["crewscope_runs"]}
    assert runs == {"signal_crew": 1.0, "noisy_crew": 1.0}


def _duck_rows(signals: Signals, sql: str) -> list[tuple[Any, ...]]:
    cur = signals.duck_app.state.db.store.cursor()
    try:
        rows: list[tuple[Any, ...]] = cur.execute(sql).fetchall()
        return rows
    finally:
        cur.close()


def _click_rows(signals: Signals, sql: str) -> list[tuple[Any, ...]]:
    result = chdb_client().query(sql.replace("{db}", signals.database))
    return [tuple(row) for row in result.result_rows]


def test_rows_in_exporter_columns(signals: Signals) -> None:
    """The receiver's rows are in the exporter's tables, in the insert templates' columns
    with the values a stock Collector writes (no NULLs, whole-second times, epoch starts)."""
    client = chdb_client()
    for table, template in METRIC_TABLES.items():
        columns = client.query(
            f"SELECT name FROM system.columns WHERE database = '{signals.database}' "
            f"AND table = '{table}' ORDER BY position"
        ).result_rows
        assert set(insert_columns(template)) <= {c[0] for c in columns}, table
        duck = _duck_rows(
            signals,
            f'SELECT "MetricName", epoch(date_trunc(\'second\', "TimeUnix"))::BIGINT, '
            f'map_entries("Attributes")::VARCHAR, count(*) FROM {table} GROUP BY ALL ORDER BY ALL',
        )
        click_rows = _click_rows(
            signals,
            f"SELECT toString(MetricName), toInt64(toUnixTimestamp(TimeUnix)), "
            f"Attributes, count() FROM {{db}}.{table} GROUP BY ALL ORDER BY ALL",
        )
        assert duck, table
        assert len(click_rows) == len(duck), table
        assert sum(r[3] for r in click_rows) == sum(r[3] for r in duck), table
        assert [(r[0], r[1]) for r in click_rows] == [(r[0], r[1]) for r in duck], table
    names = {
        r[0] for r in _click_rows(signals, "SELECT DISTINCT MetricName FROM {db}.otel_metrics_sum")
    }
    assert {"process.cpu.time", "process.memory.usage", "process.context_switches"} <= names
    gauges = _click_rows(
        signals,
        "SELECT DISTINCT toUnixTimestamp(StartTimeUnix), ServiceName, ResourceAttributes['process.pid'] "
        "FROM {db}.otel_metrics_gauge WHERE MetricName = 'process.cpu.utilization'",
    )
    assert gauges == [(0, SERVICE, str(PID))]
    cpu = _click_rows(
        signals,
        "SELECT groupArray(toUnixTimestamp(TimeUnix)) FROM (SELECT DISTINCT TimeUnix "
        "FROM {db}.otel_metrics_sum WHERE MetricName = 'process.cpu.time' ORDER BY TimeUnix)",
    )
    assert list(cpu[0][0]) == signals.sample_times
    duck_cpu = _duck_rows(
        signals,
        'SELECT "Value" FROM otel_metrics_sum WHERE "MetricName" = \'process.cpu.time\' '
        'ORDER BY "TimeUnix", "Attributes"[\'cpu.mode\']',
    )
    click_cpu = _click_rows(
        signals,
        "SELECT Value FROM {db}.otel_metrics_sum WHERE MetricName = 'process.cpu.time' "
        "ORDER BY TimeUnix, Attributes['cpu.mode']",
    )
    assert click_cpu == duck_cpu
    hist = _click_rows(
        signals,
        "SELECT MetricName, Count, Sum, length(BucketCounts) = length(ExplicitBounds) + 1, "
        "AggregationTemporality FROM {db}.otel_metrics_histogram ORDER BY MetricName, TimeUnix",
    )
    assert hist and all(r[1] > 0 and r[3] and r[4] == 2 for r in hist)
    logs = _click_rows(
        signals,
        "SELECT count(), countIf(SpanId != '' AND TraceId != ''), countIf(EventName != ''), "
        "countIf(ServiceName = '" + SERVICE + "') FROM {db}.otel_logs",
    )
    duck_logs = _duck_rows(
        signals,
        "SELECT count(*), count(*) FILTER (WHERE \"SpanId\" != '' AND \"TraceId\" != ''), "
        'count("EventName"), count(*) FILTER (WHERE "ServiceName" = \'' + SERVICE + "') "
        "FROM otel_logs",
    )
    assert logs == duck_logs and logs[0][1] > 0 and logs[0][2] > 0
    orphans = _click_rows(
        signals,
        "SELECT count() FROM {db}.otel_logs WHERE SpanId != '' "
        "AND SpanId NOT IN (SELECT SpanId FROM {db}.otel_traces)",
    )
    assert orphans == [(0,)]  # every record tied to a span names a stored span


_COMMON_DUCK = (
    'coalesce("ServiceName", \'\'), "ResourceAttributes", coalesce("ResourceSchemaUrl", \'\'), '
    'coalesce("ScopeName", \'\'), coalesce("ScopeVersion", \'\'), "ScopeAttributes", '
    'coalesce("ScopeDroppedAttrCount", 0), coalesce("ScopeSchemaUrl", \'\'), '
    '"MetricName", coalesce("MetricDescription", \'\'), coalesce("MetricUnit", \'\'), '
    '"Attributes", coalesce(epoch_ns("StartTimeUnix") // 1000000000, 0), '
    'epoch_ns("TimeUnix") // 1000000000, '
    'coalesce("Flags", 0), len("Exemplars")'
)
_COMMON_CLICK = (
    "toString(ServiceName), ResourceAttributes, ResourceSchemaUrl, ScopeName, ScopeVersion, "
    "ScopeAttributes, ScopeDroppedAttrCount, ScopeSchemaUrl, toString(MetricName), "
    "MetricDescription, MetricUnit, Attributes, toInt64(toUnixTimestamp(StartTimeUnix)), "
    "toInt64(toUnixTimestamp(TimeUnix)), Flags, length(`Exemplars.TimeUnix`)"
)
ORACLES = {
    # table: (DuckDB row as a stock Collector would write it, the ClickHouse row)
    "otel_metrics_gauge": (f'{_COMMON_DUCK}, "Value"', f"{_COMMON_CLICK}, Value"),
    "otel_metrics_sum": (
        f'{_COMMON_DUCK}, "Value", "AggregationTemporality", "IsMonotonic"',
        f"{_COMMON_CLICK}, Value, AggregationTemporality, IsMonotonic",
    ),
    "otel_metrics_histogram": (
        f'{_COMMON_DUCK}, "Count", coalesce("Sum", 0), "BucketCounts", "ExplicitBounds", '
        'coalesce("Min", 0), coalesce("Max", 0), "AggregationTemporality"',
        f"{_COMMON_CLICK}, Count, Sum, BucketCounts, ExplicitBounds, Min, Max, "
        "AggregationTemporality",
    ),
    "otel_logs": (
        'epoch_ns("Timestamp"), "TraceId", "SpanId", "TraceFlags", '
        'coalesce("SeverityText", \'\'), "SeverityNumber", coalesce("ServiceName", \'\'), '
        'coalesce("Body", \'\'), coalesce("ResourceSchemaUrl", \'\'), "ResourceAttributes", '
        "coalesce(\"ScopeSchemaUrl\", ''), coalesce(\"ScopeName\", ''), "
        'coalesce("ScopeVersion", \'\'), "ScopeAttributes", "LogAttributes", '
        "coalesce(\"EventName\", '')",
        "toUnixTimestamp64Nano(Timestamp), TraceId, SpanId, TraceFlags, toString(SeverityText), "
        "SeverityNumber, toString(ServiceName), Body, toString(ResourceSchemaUrl), "
        "ResourceAttributes, toString(ScopeSchemaUrl), ScopeName, toString(ScopeVersion), "
        "ScopeAttributes, LogAttributes, EventName",
    ),
}


def _canonical(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows comparable across the engines (maps as sorted items, bools as bools), sorted."""

    def value(v: Any) -> Any:
        if isinstance(v, dict):
            return tuple(sorted(v.items()))
        if isinstance(v, list):
            return tuple(v)
        return v

    return sorted((tuple(value(v) for v in row) for row in rows), key=repr)


@pytest.mark.parametrize("table", sorted(ORACLES))
def test_rows_as_a_collector_writes_them(signals: Signals, table: str) -> None:
    """Every row the DuckDB receiver stored, mapped by the Go exporter's rules (no NULLs: ''
    / 0 / the epoch, whole-second metric times, uint8 flags and severities), is a row of the
    ClickHouse table, and nothing else is."""
    duck_sql, click_sql = ORACLES[table]
    duck = _canonical(_duck_rows(signals, f"SELECT {duck_sql} FROM {table}"))
    click = _canonical(_click_rows(signals, f"SELECT {click_sql} FROM {{db}}.{table}"))
    assert duck and len(click) == len(duck)
    assert click == duck
