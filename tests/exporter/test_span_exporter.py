"""DuckDBSpanExporter: real SDK spans into a real DuckDB file, read back with SQL."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from crewscope.exporter import DuckDBSpanExporter

T0 = 1_750_000_000_000_000_000  # fixed start times make Duration and Timestamp exact


def test_round_trip_of_every_column(provider, exporter, db_path, query):
    tracer = provider.get_tracer("crewscope.instrumentation", "0.1.0")
    other = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1))
    crew = tracer.start_span(
        "invoke_workflow research",
        start_time=T0,
        attributes={
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": "research",
            "crewai.crew.input_keys": ("topic", "year"),
            "gen_ai.usage.input_tokens": 1300,
            "gen_ai.usage.output_tokens": 250,
        },
    )
    crew_ctx = trace_ctx(crew)
    agent = tracer.start_span(
        "invoke_agent Researcher",
        context=crew_ctx,
        start_time=T0 + 10,
        links=[Link(other, {"link.reason": "retry"})],
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "Researcher",
            "crewai.task.name": "research_task",
            "crewai.crew.name": "research crew",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 1300,
            "gen_ai.usage.output_tokens": 250,
        },
    )
    agent_ctx = trace_ctx(agent)
    chat = tracer.start_span(
        "chat gpt-4o-mini",
        context=agent_ctx,
        kind=SpanKind.CLIENT,
        start_time=T0 + 20,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 200,
            "crewscope.flag": True,
            "crewscope.ratio": 0.5,
            "crewscope.ints": [1, 2],
        },
    )
    chat.end(end_time=T0 + 1_500_020)
    unknown = tracer.start_span(
        "chat mystery",
        context=agent_ctx,
        kind=SpanKind.CLIENT,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "mystery-model-9000",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 5,
        },
    )
    unknown.end()
    tool = tracer.start_span(
        "execute_tool search",
        context=agent_ctx,
        start_time=T0 + 30,
        attributes={"gen_ai.tool.name": "search", "error.type": "ValueError"},
    )
    tool.add_event("retrying", {"attempt": 2}, timestamp=T0 + 40)
    tool.record_exception(ValueError("no results"), timestamp=T0 + 50)
    tool.set_status(Status(StatusCode.ERROR, "no results"))
    tool.end(end_time=T0 + 60)
    agent.set_status(Status(StatusCode.OK))
    agent.end(end_time=T0 + 2_000_000)
    crew.end(end_time=T0 + 3_000_000)
    exporter.shutdown()

    rows = query(
        db_path,
        """SELECT "SpanName", epoch_ns("Timestamp"), "TraceId", "SpanId", "ParentSpanId",
                  "TraceState", "SpanKind", "ServiceName", "ResourceAttributes"['deploy.env'],
                  "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode",
                  "StatusMessage", "Events", "Links", "GenAiOperation", "CrewName", "TaskName",
                  "AgentName", "ToolName", "Model", "ProviderName", "InputTokens", "OutputTokens",
                  "CostUsd", "ErrorType"
           FROM otel_traces""",
    )
    by_name = {r[0]: r for r in rows}
    assert set(by_name) == {
        "invoke_workflow research",
        "invoke_agent Researcher",
        "chat gpt-4o-mini",
        "chat mystery",
        "execute_tool search",
    }
    trace_id = format(crew.get_span_context().trace_id, "032x")
    assert {r[2] for r in rows} == {trace_id}

    root = by_name["invoke_workflow research"]
    assert root[1] == T0 and root[12] == 3_000_000
    assert root[3] == format(crew.get_span_context().span_id, "016x")
    assert root[4] == ""  # no parent
    assert root[5] == "" and root[6] == "Internal" and root[13] == "Unset"
    assert root[7] == "crewscope-test" and root[8] == "test"
    assert root[9:11] == ("crewscope.instrumentation", "0.1.0")
    assert root[11]["crewai.crew.input_keys"] == '["topic", "year"]'
    assert root[17] == "invoke_workflow" and root[18] == "research"  # CrewName from workflow
    assert (root[24], root[25], root[26]) == (1300, 250, None)  # totals are never priced

    agent_row = by_name["invoke_agent Researcher"]
    assert agent_row[4] == root[3]
    assert agent_row[13] == "Ok"
    assert agent_row[16] == [
        {
            "TraceId": format(0xABC, "032x"),
            "SpanId": format(0xDEF, "016x"),
            "TraceState": "",
            "Attributes": {"link.reason": "retry"},
        }
    ]
    assert agent_row[17:24] == (
        "invoke_agent", "research crew", "research_task", "Researcher", None, "gpt-4o-mini", None,
    )  # fmt: skip
    assert agent_row[26] is None  # an agent span's tokens are totals: no cost

    chat_row = by_name["chat gpt-4o-mini"]
    assert chat_row[4] == agent_row[3]
    assert chat_row[6] == "Client"
    assert chat_row[12] == 1_500_000
    attrs = chat_row[11]
    assert attrs["crewscope.flag"] == "true"
    assert attrs["crewscope.ratio"] == "0.5"
    assert attrs["crewscope.ints"] == "[1, 2]"
    assert attrs["gen_ai.usage.input_tokens"] == "1000"
    assert chat_row[15] == [] and chat_row[16] == []
    assert chat_row[22:26] == ("gpt-4o-mini", "openai", 1000, 200)
    assert chat_row[26] == pytest.approx(1000 * 0.15e-6 + 200 * 0.6e-6)

    assert by_name["chat mystery"][26] is None  # unknown model: NULL, not 0
    assert by_name["chat mystery"][24] == 10

    tool_row = by_name["execute_tool search"]
    assert tool_row[13:15] == ("Error", "no results")
    assert tool_row[21] == "search" and tool_row[27] == "ValueError"
    events = tool_row[15]
    assert [e["Name"] for e in events] == ["retrying", "exception"]
    assert events[0]["Attributes"] == {"attempt": "2"}
    assert events[1]["Attributes"]["exception.type"] == "ValueError"
    assert events[1]["Attributes"]["exception.message"] == "no results"
    event_ns = query(
        db_path,
        """SELECT list_transform("Events", lambda e: epoch_ns(e."Timestamp")) FROM otel_traces
           WHERE "SpanName" = 'execute_tool search'""",
    )
    assert event_ns == [([T0 + 40, T0 + 50],)]


def trace_ctx(span):
    from opentelemetry import trace

    return trace.set_span_in_context(span)


def test_export_after_shutdown_returns_failure(make_spans, db_path, query):
    exp = DuckDBSpanExporter(db_path)
    spans = make_spans(3)
    assert exp.export(spans) is SpanExportResult.SUCCESS
    exp.shutdown()
    assert exp.export(spans) is SpanExportResult.FAILURE
    assert exp.stats.dropped_by_reason == {"shutdown": 3}
    assert exp.stats.state == "shutdown"
    assert query(db_path, "SELECT count(*) FROM otel_traces") == [(3,)]


def test_file_opens_lazily_and_stats_count_writes(make_spans, tmp_path):
    path = tmp_path / "lazy.duckdb"
    exp = DuckDBSpanExporter(str(path))
    assert not path.exists() and exp.stats.state == "not_open"
    assert exp.export(make_spans(4)) is SpanExportResult.SUCCESS
    assert exp.export([]) is SpanExportResult.SUCCESS
    assert path.exists()
    stats = exp.stats.as_dict()
    assert stats["spans_written"] == 4 and stats["batches_written"] == 1
    assert stats["spans_dropped"] == 0 and stats["state"] == "open"
    assert exp.force_flush(100) is True
    exp.shutdown()


HOLD_LOCK = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


def test_locked_file_warns_once_then_recovers(make_spans, db_path, caplog, query):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, db_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        exp = DuckDBSpanExporter(db_path, retry_interval_s=0.1)
        with caplog.at_level(logging.DEBUG, logger="crewscope.exporter"):
            results = []
            for _ in range(4):  # spaced beyond the retry interval: every attempt retries
                results.append(exp.export(make_spans(2)))
                time.sleep(0.15)
        assert results == [SpanExportResult.FAILURE] * 4
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        assert "locked by another process" in warnings[0].getMessage()
        assert exp.stats.state == "locked"
        assert exp.stats.dropped_by_reason == {"locked": 8}
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0
    time.sleep(0.15)
    assert exp.export(make_spans(3)) is SpanExportResult.SUCCESS
    assert exp.stats.state == "open" and exp.stats.spans_written == 3
    exp.shutdown()
    assert query(db_path, "SELECT count(*) FROM otel_traces") == [(3,)]


def test_concurrent_exports_lose_nothing(make_spans, exporter, db_path, query):
    batches = [make_spans(25) for _ in range(32)]

    def work(mine):
        for b in mine:
            assert exporter.export(b) is SpanExportResult.SUCCESS

    threads = [threading.Thread(target=work, args=(batches[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert exporter.stats.spans_written == 800
    exporter.shutdown()
    assert query(db_path, 'SELECT count(*), count(DISTINCT "SpanId") FROM otel_traces') == [
        (800, 800)
    ]


def test_batch_processor_from_many_threads(exporter, db_path, query):
    tp = TracerProvider(resource=Resource.create({"service.name": "batchy"}))
    tp.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=64))
    tracer = tp.get_tracer("tests")

    def work(i):
        for j in range(150):
            with tracer.start_as_current_span(f"work {i}", attributes={"j": j}):
                pass

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tp.force_flush(30_000)
    tp.shutdown()  # also shuts the exporter down
    rows = query(db_path, 'SELECT count(*), count(DISTINCT "SpanName") FROM otel_traces')
    assert rows == [(900, 6)]
    assert exporter.stats.spans_written == 900 and exporter.stats.spans_dropped == 0


WEIRD = {
    "bytes": b"\x00\xff",
    "nested": [[1, 2], ["a"]],
    "none_in_seq": ("a", None),
    "none": None,
    "obj": object.__new__(type("Odd", (), {"__str__": lambda self: "odd!"})),
    "mapping": {"k": (1, b"\x01")},
    "fine": "ok",
}


def test_weird_attribute_values_never_raise(make_spans, exporter, db_path, query):
    good = make_spans(2)
    template = good[0]
    weird = ReadableSpan(
        name="weird",
        context=template.context,
        parent=None,
        resource=template.resource,
        attributes=WEIRD,
        events=(),
        start_time=T0,
        end_time=T0 + 5,
    )
    odd_key = ReadableSpan(
        name="odd key", context=template.context, attributes={7: "seven"}, start_time=T0
    )
    no_name = ReadableSpan(name=None, context=template.context, start_time=T0)
    number_name = ReadableSpan(name=42, context=template.context, start_time=T0)
    broken = ReadableSpan(name="no context", context=None, start_time=T0)
    batch = [*good, weird, odd_key, no_name, number_name, broken]
    assert exporter.export(batch) is SpanExportResult.SUCCESS
    assert exporter.stats.dropped_by_reason == {"conversion_error": 1}
    assert exporter.export([broken]) is SpanExportResult.FAILURE  # nothing left to store
    assert exporter.stats.dropped_by_reason == {"conversion_error": 2}
    exporter.shutdown()
    (attrs,) = query(
        db_path, """SELECT "SpanAttributes" FROM otel_traces WHERE "SpanName" = 'weird'"""
    )[0]
    assert attrs == {
        "bytes": "AP8=",
        "nested": '[[1, 2], ["a"]]',
        "none_in_seq": '["a", null]',
        "obj": "odd!",
        "mapping": '{"k": [1, "AQ=="]}',
        "fine": "ok",
    }
    assert query(
        db_path, """SELECT "SpanAttributes" FROM otel_traces WHERE "SpanName" = 'odd key'"""
    ) == [({"7": "seven"},)]
    names = query(db_path, 'SELECT "SpanName" FROM otel_traces ORDER BY "SpanName"')
    assert [n for (n,) in names] == [
        "",
        "42",
        "invoke_workflow crew",
        "odd key",
        "step Researcher",
        "weird",
    ]


CRASH = """
import os, sys
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from crewscope.exporter import DuckDBSpanExporter
tp = TracerProvider()
tp.add_span_processor(SimpleSpanProcessor(DuckDBSpanExporter(sys.argv[1])))
for i in range(5):
    with tp.get_tracer("crash").start_as_current_span(f"span {i}"):
        pass
os._exit(0)  # no shutdown, no close, no checkpoint: like a crash
"""


def test_each_export_is_durable_without_shutdown(db_path, query):
    subprocess.run([sys.executable, "-c", CRASH, db_path], check=True, timeout=120)
    assert query(db_path, "SELECT count(*) FROM otel_traces") == [(5,)]


def test_path_defaults_env_then_cwd(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CREWSCOPE_DB", raising=False)
    assert DuckDBSpanExporter().path == "./crewscope.duckdb"
    monkeypatch.setenv("CREWSCOPE_DB", str(tmp_path / "env.duckdb"))
    assert DuckDBSpanExporter().path == str(tmp_path / "env.duckdb")
    assert DuckDBSpanExporter("arg.duckdb").path == "arg.duckdb"


def test_entry_point_loads_exporter(monkeypatch, tmp_path, make_spans):
    (ep,) = entry_points(group="opentelemetry_traces_exporter", name="duckdb")
    cls = ep.load()
    assert cls is DuckDBSpanExporter
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CREWSCOPE_DB", raising=False)
    exp = cls()  # opentelemetry-instrument constructs it with no arguments
    assert exp.export(make_spans(2)) is SpanExportResult.SUCCESS
    exp.shutdown()
    assert Path(tmp_path, "crewscope.duckdb").exists()


def test_import_does_not_import_crewai():
    code = "import sys, crewscope.exporter; print('crewai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


ZERO_CODE_APP = """
from opentelemetry import trace
tracer = trace.get_tracer("zero")
with tracer.start_as_current_span("parent"):
    with tracer.start_as_current_span("child"):
        pass
"""


def test_opentelemetry_instrument_uses_the_exporter(tmp_path, query):
    db = tmp_path / "nested" / "zero.duckdb"  # missing folders are created
    env = {
        **os.environ,
        "CREWSCOPE_DB": str(db),
        "OTEL_TRACES_EXPORTER": "duckdb",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": "zero-code",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "crewai",  # keep this test about the exporter
    }
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    cmd = [str(instrument), sys.executable, "-c", ZERO_CODE_APP]
    subprocess.run(cmd, env=env, cwd=tmp_path, check=True, timeout=120)
    rows = query(
        str(db), """SELECT "SpanName", "ServiceName", "ParentSpanId" = '' FROM otel_traces"""
    )
    assert sorted(rows) == [("child", "zero-code", False), ("parent", "zero-code", True)]
