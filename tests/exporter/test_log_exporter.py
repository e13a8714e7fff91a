"""DuckDBLogExporter and its row conversion: the otel_logs columns, sharing the file with
the span and metric exporters, a locked file, never raising, the entry point; and
``configure(logs=True)`` on a real crew: the tool's warning lands with the tool span's ids
and crewscope's crew/agent/task/run columns."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import set_span_in_context

from crewscope.exporter import DuckDBLogExporter, DuckDBSpanExporter
from crewscope.exporter.log_rows import LOG_ARROW_SCHEMA, records_to_table
from crewscope.exporter.metric_exporter import DuckDBMetricExporter
from crewscope.exporter.store import SpanStore
from crewscope.instrumentation._log_context import (
    RecordFilter,
    RunContextProcessor,
    install_run_context,
    log_level,
    parse_level,
)
from crewscope.instrumentation._state import RUN_INFO, RunInfo
from tests.integration import logs_app

SERVICE = "logs-test"


def _sql(path: Path | str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def _records(emit: Any, *, run_context: bool = False) -> list[ReadableLogRecord]:
    """SDK records as an exporter receives them: `emit(logger, tracer)` on fresh providers."""
    mem = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": SERVICE, "env": "t"}))
    if run_context:
        install_run_context(provider)
    provider.add_log_record_processor(SimpleLogRecordProcessor(mem))
    tracer = TracerProvider().get_tracer("tests.logs")
    emit(provider.get_logger("tests.logs", "1.2.3", attributes={"scope.k": "v"}), tracer)
    provider.shutdown()
    return list(mem.get_finished_logs())


def _rows(records: list[ReadableLogRecord]) -> list[dict[str, Any]]:
    table, failed = records_to_table(records)
    assert failed == 0 and table.schema == LOG_ARROW_SCHEMA
    # ns timestamps as ints: datetime has no nanoseconds
    return table.set_column(0, "Timestamp", table["Timestamp"].cast(pa.int64())).to_pylist()


def test_rows_fill_every_column_ids_as_lowercase_hex():
    def emit(logger: Any, tracer: Any) -> None:
        with tracer.start_as_current_span("execute_tool t") as span:
            logger.emit(
                severity_number=SeverityNumber.WARN,
                severity_text="WARN",
                body="slow",
                attributes={
                    "crewai.crew.name": "c",
                    "gen_ai.agent.name": "a",
                    "crewai.task.name": "t",
                    "crewscope.run.id": "00000000000000ab",
                    "crewscope.run.root_id": "00000000000000cd",
                    "n": 3,
                    "flag": True,
                },
            )
            ctx = span.get_span_context()
            emit.ids = (format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"))  # type: ignore[attr-defined]
        logger.emit(body={"k": [1, 2]}, event_name="gen_ai.client.inference.operation.details")
        logger.emit(body=b"\x00\x01", attributes={"event.name": "from.attribute"})

    [warn, structured, raw] = _rows(_records(emit))
    trace_id, span_id = emit.ids  # type: ignore[attr-defined]
    assert (warn["TraceId"], warn["SpanId"]) == (trace_id, span_id)
    assert warn["TraceId"] == warn["TraceId"].lower() and len(warn["SpanId"]) == 16
    assert warn["TraceFlags"] & 1  # sampled (the SDK also sets the W3C "random" bit)
    assert (warn["SeverityText"], warn["SeverityNumber"], warn["Body"]) == ("WARN", 13, "slow")
    assert warn["ServiceName"] == SERVICE
    assert dict(warn["ResourceAttributes"])["env"] == "t"
    assert (warn["ScopeName"], warn["ScopeVersion"]) == ("tests.logs", "1.2.3")
    assert dict(warn["ScopeAttributes"]) == {"scope.k": "v"}
    attrs = dict(warn["LogAttributes"])
    assert attrs["n"] == "3" and attrs["flag"] == "true"
    assert (warn["CrewName"], warn["AgentName"], warn["TaskName"]) == ("c", "a", "t")
    assert (warn["RunId"], warn["RootRunId"]) == ("00000000000000ab", "00000000000000cd")
    assert warn["EventName"] is None and warn["Timestamp"] is not None
    # outside a span: '' ids, no severity (0), a map body as JSON, the SDK's event name
    assert (structured["TraceId"], structured["SpanId"], structured["TraceFlags"]) == ("", "", 0)
    assert structured["SeverityNumber"] == 0 and json.loads(structured["Body"]) == {"k": [1, 2]}
    assert structured["EventName"] == "gen_ai.client.inference.operation.details"
    assert structured["CrewName"] is None and structured["RunId"] is None
    assert raw["EventName"] == "from.attribute" and raw["Body"] == "AAE="  # bytes as base64


def test_run_context_processor_stamps_only_inside_a_run_and_keeps_own_values():
    info = RunInfo(crew="crew", task="task", agent="agent", run_id="00000000000000aa")

    def emit(logger: Any, tracer: Any) -> None:
        logger.emit(body="outside")
        token = RUN_INFO.set(info)
        try:
            logger.emit(body="inside")
            logger.emit(body="own", attributes={"gen_ai.agent.name": "mine"})
        finally:
            RUN_INFO.reset(token)

    outside, inside, own = _rows(_records(emit, run_context=True))
    assert [outside[c] for c in ("CrewName", "AgentName", "TaskName", "RunId", "RootRunId")] == [
        None
    ] * 5
    assert [inside[c] for c in ("CrewName", "AgentName", "TaskName", "RunId", "RootRunId")] == [
        "crew",
        "agent",
        "task",
        "00000000000000aa",
        "00000000000000aa",  # a top-level run is its own root
    ]
    assert own["AgentName"] == "mine" and own["CrewName"] == "crew"


def test_install_run_context_once_per_sdk_provider():
    provider = LoggerProvider()
    assert install_run_context(provider) is True
    assert install_run_context(provider) is False
    assert install_run_context(object()) is False  # not an SDK provider: nothing to do
    processors = provider._multi_log_record_processor._log_record_processors
    assert sum(isinstance(p, RunContextProcessor) for p in processors) == 1
    provider.shutdown()


def test_record_filter_levels(monkeypatch):
    def rec(name: str, level: int) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, "m", None, None)

    f = RecordFilter(logging.INFO, logging.WARNING)
    assert f.filter(rec("myapp", logging.INFO)) and not f.filter(rec("myapp", logging.DEBUG))
    assert not f.filter(rec("crewai.agent", logging.INFO))
    assert f.filter(rec("crewai", logging.WARNING))
    assert f.filter(rec("crewaix", logging.INFO))  # another package, not crewai's
    assert not f.filter(rec("crewscope.exporter.log_exporter", logging.ERROR))
    assert not f.filter(rec("opentelemetry.sdk._logs", logging.ERROR))
    assert parse_level("warning", 0) == logging.WARNING and parse_level("15", 0) == 15
    assert parse_level("none", 0) > logging.CRITICAL and parse_level("", 7) == 7
    monkeypatch.setenv("CREWSCOPE_LOG_LEVEL", "ERROR")
    assert log_level() == logging.ERROR and log_level("DEBUG") == logging.DEBUG
    monkeypatch.setenv("CREWSCOPE_LOG_LEVEL", "loud")
    assert log_level() == logging.INFO  # junk: the default, with a warning


def test_export_round_trip_and_stats(tmp_path):
    db = tmp_path / "logs.duckdb"
    exp = DuckDBLogExporter(str(db))
    assert not db.exists() and exp.stats.state == "not_open"
    records = _records(lambda logger, tracer: [logger.emit(body=f"m{i}") for i in range(5)])
    assert exp.export(records) is LogRecordExportResult.SUCCESS
    assert exp.export([]) is LogRecordExportResult.SUCCESS
    stats = exp.stats.as_dict()
    assert stats["records_written"] == 5 and stats["batches_written"] == 1
    assert stats["records_dropped"] == 0 and stats["state"] == "open"
    assert exp.force_flush() is True
    exp.shutdown()
    assert exp.export(records) is LogRecordExportResult.FAILURE
    assert exp.stats.dropped_by_reason == {"shutdown": 5}
    assert _sql(db, 'SELECT "Body" FROM otel_logs ORDER BY "Body"') == [
        (f"m{i}",) for i in range(5)
    ]


def test_every_store_creates_otel_logs(tmp_path):
    db = str(tmp_path / "s.duckdb")
    SpanStore(db).close()
    assert _sql(db, "SELECT count(*) FROM otel_logs") == [(0,)]


def test_shares_the_file_with_span_and_metric_exporters(tmp_path, make_spans):
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    db = str(tmp_path / "shared.duckdb")
    spans, metrics_exp, logs = (
        DuckDBSpanExporter(db),
        DuckDBMetricExporter(db),
        DuckDBLogExporter(db),
    )
    try:
        from opentelemetry.sdk.trace.export import SpanExportResult

        assert logs.export(_records(lambda lg, tr: lg.emit(body="first"))) is (
            LogRecordExportResult.SUCCESS
        )
        assert spans.export(make_spans(3)) is SpanExportResult.SUCCESS
        reader = InMemoryMetricReader()
        mp = MeterProvider(metric_readers=[reader])
        mp.get_meter("m").create_counter("c").add(1)
        metrics_exp.export(reader.get_metrics_data())
        mp.shutdown()
        assert logs.export(_records(lambda lg, tr: lg.emit(body="second"))) is (
            LogRecordExportResult.SUCCESS
        )
    finally:
        for exp in (spans, metrics_exp, logs):
            exp.shutdown()
    assert _sql(db, "SELECT count(*) FROM otel_logs") == [(2,)]
    assert _sql(db, "SELECT count(*) FROM otel_traces") == [(3,)]
    assert _sql(db, "SELECT count(*) FROM otel_metrics_sum") == [(1,)]


HOLD_LOCK = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


def test_locked_file_fails_counts_drops_warns_once_then_recovers(tmp_path, caplog):
    db = str(tmp_path / "locked.duckdb")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, db],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    records = _records(lambda lg, tr: [lg.emit(body="a"), lg.emit(body="b")])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        exp = DuckDBLogExporter(db, retry_interval_s=0.1)
        with caplog.at_level(logging.DEBUG, logger="crewscope.exporter"):
            results = []
            for _ in range(3):
                results.append(exp.export(records))
                time.sleep(0.15)
        assert results == [LogRecordExportResult.FAILURE] * 3
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "locked by another process" in warnings[0].getMessage()
        assert exp.stats.state == "locked"
        assert exp.stats.dropped_by_reason == {"locked": 6} and exp.stats.records_dropped == 6
    finally:
        holder.communicate("", timeout=30)
    time.sleep(0.15)
    assert exp.export(records) is LogRecordExportResult.SUCCESS
    assert exp.stats.state == "open" and exp.stats.records_written == 2
    exp.shutdown()
    assert _sql(db, "SELECT count(*) FROM otel_logs") == [(2,)]


def test_export_never_raises(tmp_path):
    exp = DuckDBLogExporter(str(tmp_path / "x.duckdb"))
    good = _records(lambda lg, tr: lg.emit(body="ok"))
    # a record that cannot be converted costs only itself
    assert exp.export([object(), *good]) is LogRecordExportResult.SUCCESS  # type: ignore[list-item]
    assert exp.stats.dropped_by_reason == {"conversion_error": 1}
    assert exp.export([object()]) is LogRecordExportResult.FAILURE  # type: ignore[list-item]
    assert exp.export(42) is LogRecordExportResult.FAILURE  # type: ignore[arg-type]
    assert "TypeError" in (exp.stats.last_error or "")  # not a batch: nothing to count
    exp.shutdown()
    bad = DuckDBLogExporter(str(tmp_path / "no" / "\0bad"), retry_interval_s=0)
    assert bad.export(good) is LogRecordExportResult.FAILURE
    assert bad.stats.records_dropped == 1 and bad.stats.state == "unavailable"


def test_logs_exporter_entry_point():
    [ep] = [ep for ep in entry_points(group="opentelemetry_logs_exporter") if ep.name == "duckdb"]
    assert ep.load() is DuckDBLogExporter


def test_configure_logs_off_unless_asked(tmp_path, monkeypatch):
    from crewscope.instrumentation.configure import configure

    monkeypatch.delenv("OTEL_LOGS_EXPORTER", raising=False)
    before = list(logging.getLogger().handlers)
    telemetry = configure(
        exporters=[], metrics_exporters=[], db_path=str(tmp_path / "o.duckdb"), set_global=False
    )
    try:
        assert telemetry.logger_provider is None and logging.getLogger().handlers == before
    finally:
        telemetry.shutdown()
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "console")
    telemetry = configure(exporters=[], metrics_exporters=[], set_global=False)
    try:
        assert telemetry.logger_provider is not None
        assert telemetry.log_handler in logging.getLogger().handlers
    finally:
        telemetry.shutdown()
    assert logging.getLogger().handlers == before


@pytest.mark.timeout(180)
def test_configure_logs_real_crew_tool_warning_has_tool_span_and_run(
    tmp_path, llm_server, monkeypatch
):
    from crewscope.instrumentation.configure import configure

    monkeypatch.delenv("OTEL_LOGS_EXPORTER", raising=False)
    monkeypatch.delenv("CREWSCOPE_LOG_LEVEL", raising=False)
    monkeypatch.delenv("CREWSCOPE_CREWAI_LOG_LEVEL", raising=False)
    db = str(tmp_path / "crew.duckdb")
    telemetry = configure(
        service_name="logs-crew",
        logs=True,
        exporters=["duckdb"],
        metrics_exporters=[],
        db_path=db,
        set_global=False,
    )
    try:
        logs_app.main(llm_server.base_url)
    finally:
        telemetry.shutdown()
    assert_tool_logs_correlated(db, service="logs-crew")


def assert_tool_logs_correlated(
    db: str, *, service: str, run_columns: bool = True, crewai_filtered: bool = True
) -> None:
    """The tool's WARNING and INFO rows carry the tool span's ids (and, with `run_columns`,
    its crew/agent/task/run); with `crewai_filtered`, CrewAI's INFO record is not exported;
    the record logged outside the run has no ids. Shared with the zero-code test."""
    tools = _sql(
        db,
        """SELECT TraceId, SpanId, SpanAttributes['crewscope.run.id'],
                  SpanAttributes['crewscope.run.root_id'], StatusCode
           FROM otel_traces WHERE SpanName = $name""",
        {"name": f"execute_tool {logs_app.TOOL}"},
    )
    assert tools and any(t[4] == "Error" for t in tools), tools
    by_span = {t[1]: t for t in tools}
    rows = _sql(
        db,
        """SELECT Body, SeverityText, SeverityNumber, TraceId, SpanId, CrewName, AgentName,
                  TaskName, RunId, RootRunId, ServiceName, ScopeName,
                  LogAttributes['code.function.name'], LogAttributes[$currency]
           FROM otel_logs ORDER BY Timestamp""",
        {"currency": logs_app.CURRENCY_ATTRIBUTE},
    )
    bodies = [r[0] for r in rows]
    warning, info = logs_app.WARNING_TEXT, logs_app.INFO_TEXT
    assert (logs_app.CREWAI_INFO_TEXT in bodies) is not crewai_filtered
    tool_rows = [r for r in rows if r[0] in (warning, info)]
    # one WARNING and one INFO per tool call, each with its tool span's ids
    assert sorted(r[0] for r in tool_rows) == sorted([warning, info] * len(tools)), bodies
    for r in tool_rows:
        assert r[4] in by_span, (r, tools)
        assert r[3] == by_span[r[4]][0]
        assert r[10] == service and r[11] == logs_app.TOOL_LOGGER
        assert r[12] == "exchange_rate" and r[13]  # the record's `extra`, as an attribute
        if run_columns:
            assert (r[5], r[6], r[7]) == (logs_app.CREW, logs_app.ANALYST, logs_app.RATES_TASK)
            assert (r[8], r[9]) == (by_span[r[4]][2], by_span[r[4]][3]) and r[8]
    assert {(r[1], r[2]) for r in tool_rows if r[0] == warning} == {("WARN", 13)}
    [outside] = [r for r in rows if r[0] == logs_app.OUTSIDE_TEXT]
    assert (outside[3], outside[4]) == ("", "")
    assert outside[5:10] == (None,) * 5


def test_configure_logs_levels_from_env(tmp_path, monkeypatch):
    """CREWSCOPE_LOG_LEVEL=ERROR drops the app's WARNING; CREWSCOPE_CREWAI_LOG_LEVEL=INFO
    lets CrewAI's INFO through (no crew needed: the levels are the handler's)."""
    from crewscope.instrumentation.configure import configure

    monkeypatch.setenv("CREWSCOPE_LOG_LEVEL", "ERROR")
    monkeypatch.setenv("CREWSCOPE_CREWAI_LOG_LEVEL", "INFO")
    db = str(tmp_path / "levels.duckdb")
    telemetry = configure(
        logs=True, exporters=[], metrics_exporters=[], db_path=db, set_global=False
    )
    try:
        logging.getLogger("fxapp").warning("app warning")
        logging.getLogger("fxapp").error("app error")
        logging.getLogger(logs_app.CREWAI_PROBE_LOGGER).info("crewai info")
    finally:
        telemetry.shutdown()
    assert _sql(db, 'SELECT "Body" FROM otel_logs ORDER BY "Body"') == [
        ("app error",),
        ("crewai info",),
    ]


def test_records_inside_a_span_without_run_keep_ids(tmp_path):
    """The trace context alone (a caller's own span, no crewscope run) gives the ids."""
    exp = DuckDBLogExporter(str(tmp_path / "span.duckdb"))
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(DuckDBSpanExporter(exp.path)))

    def emit(logger: Any, tracer: Any) -> None:
        with provider.get_tracer("t").start_as_current_span("handler") as span:
            logger.emit(body="in handler", context=set_span_in_context(span))

    assert exp.export(_records(emit, run_context=True)) is LogRecordExportResult.SUCCESS
    exp.shutdown()
    provider.shutdown()
    [(log_span, run)] = _sql(exp.path, 'SELECT "SpanId", "RunId" FROM otel_logs')
    assert _sql(exp.path, "SELECT SpanId FROM otel_traces") == [(log_span,)] and run is None


@pytest.mark.timeout(180)
def test_configure_event_only_lands_one_inference_event_per_llm_call(tmp_path, llm_server):
    """configure(logs=True) + EVENT_ONLY: each LLM call's details are a log record in
    otel_logs, on its chat span, with the fake LLM's exact tokens."""
    from crewscope.instrumentation.configure import configure
    from tests.helpers.projects import research_crew

    db = str(tmp_path / "events.duckdb")
    telemetry = configure(
        service_name="events-crew", logs=True, exporters=["duckdb"], metrics_exporters=[],
        db_path=db, set_global=False, capture_content="EVENT_ONLY",
    )  # fmt: skip
    try:
        research_crew(llm_server.base_url)
    finally:
        telemetry.shutdown()
    calls = [c for c in llm_server.calls if c.status == 200]
    con = duckdb.connect(db, read_only=True)
    try:
        events = con.execute(
            "SELECT l.SpanId, t.SpanName, l.LogAttributes['gen_ai.usage.input_tokens'], "
            "l.LogAttributes['gen_ai.usage.output_tokens'] FROM otel_logs l "
            "JOIN otel_traces t ON t.SpanId = l.SpanId AND t.TraceId = l.TraceId "
            "WHERE l.EventName = 'gen_ai.client.inference.operation.details' ORDER BY l.Timestamp"
        ).fetchall()
        chat_content = con.execute(
            "SELECT count(*) FROM otel_traces WHERE GenAiOperation = 'chat' "
            "AND SpanAttributes['gen_ai.input.messages'] IS NOT NULL"
        ).fetchone()
    finally:
        con.close()
    assert len(events) == len(calls) > 0
    assert all(name.startswith("chat ") for _, name, _, _ in events)
    assert [(int(i), int(o)) for _, _, i, o in events] == [
        (c.prompt_tokens, c.completion_tokens) for c in calls
    ]
    assert chat_content == (0,)  # EVENT_ONLY: no content on the spans
