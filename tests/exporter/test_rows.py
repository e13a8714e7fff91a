"""_rows: the Arrow layout, the plain-values path the OTLP receiver uses, promotion."""

from __future__ import annotations

import duckdb
import pyarrow.compute as pc
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from crewscope.exporter.attr_values import attr_to_str
from crewscope.exporter.span_exporter import spans_to_table
from crewscope.exporter.span_rows import (
    ARROW_SCHEMA,
    KIND_NAMES,
    PROMOTED_COLUMNS,
    STATUS_NAMES,
    SpanColumns,
    promote,
)
from crewscope.exporter.store import read_sql


def test_arrow_schema_matches_the_sql_table():
    con = duckdb.connect()
    con.execute(read_sql("schema.sql"))
    table_cols = con.execute("DESCRIBE otel_traces").fetchall()
    empty = ARROW_SCHEMA.empty_table()  # noqa: F841 (read by DuckDB's replacement scan)
    arrow_cols = con.execute("DESCRIBE SELECT * FROM empty").fetchall()
    assert [(c[0], c[1]) for c in arrow_cols] == [(c[0], c[1]) for c in table_cols]
    assert ARROW_SCHEMA.names[-len(PROMOTED_COLUMNS) :] == list(PROMOTED_COLUMNS)


def sdk_spans():
    mem = InMemorySpanExporter()
    tp = TracerProvider(resource=Resource.create({"service.name": "svc", "host.name": "h1"}))
    tp.add_span_processor(SimpleSpanProcessor(mem))
    tracer = tp.get_tracer("scope", "9.9")
    with tracer.start_as_current_span("invoke_agent A", attributes={"gen_ai.agent.name": "A"}) as a:
        with tracer.start_as_current_span(
            "chat m",
            kind=SpanKind.CLIENT,
            links=[Link(a.get_span_context(), {"why": "because"})],
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 7,
                "flag": False,
                "seq": ("x", "y"),
            },
        ) as chat:
            chat.add_event("e1", {"n": 1.25})
            chat.set_status(Status(StatusCode.ERROR, "bad"))
    return list(mem.get_finished_spans())


def test_plain_values_path_builds_the_same_table():
    """What the OTLP receiver does (plain values) must give byte-identical rows."""
    spans = sdk_spans()
    fast, failed = spans_to_table(spans)
    assert failed == 0

    def strs(attrs):
        return {k: attr_to_str(v) for k, v in (attrs or {}).items()}

    cols = SpanColumns()
    resource = strs(spans[0].resource.attributes)  # one dict per batch, like ResourceSpans
    for s in spans:
        ctx, scope = s.context, s.instrumentation_scope
        cols.add_span(
            timestamp_ns=s.start_time,
            trace_id=format(ctx.trace_id, "032x"),
            span_id=format(ctx.span_id, "016x"),
            parent_span_id=format(s.parent.span_id, "016x") if s.parent else "",
            name=s.name,
            kind=KIND_NAMES[s.kind],
            duration_ns=s.end_time - s.start_time,
            status_code=STATUS_NAMES[s.status.status_code],
            status_message=s.status.description,
            trace_state=ctx.trace_state.to_header(),
            service_name=resource["service.name"],
            resource_attributes=resource,
            scope_name=scope.name,
            scope_version=scope.version,
            attributes=strs(s.attributes),
            events=[(e.timestamp, e.name, strs(e.attributes)) for e in s.events],
            links=[
                (
                    format(lk.context.trace_id, "032x"),
                    format(lk.context.span_id, "016x"),
                    "",
                    strs(lk.attributes),
                )
                for lk in s.links
            ],  # fmt: skip
        )
    plain = cols.to_table()
    assert plain.schema == fast.schema == ARROW_SCHEMA
    assert plain.equals(fast)
    chat = fast.filter(pc.equal(fast["SpanName"], "chat m"))
    assert chat["SpanAttributes"].to_pylist()[0][-2:] == [("flag", "false"), ("seq", '["x", "y"]')]
    assert chat["StatusCode"].to_pylist() == ["Error"]
    assert chat["CostUsd"].to_pylist() == [pytest.approx(7 * 0.15e-6)]


def test_empty_batch_gives_empty_table():
    table, failed = spans_to_table([])
    assert failed == 0 and table.num_rows == 0 and table.schema == ARROW_SCHEMA


class StrSub(str):
    pass


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("s", "s"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (2.5, "2.5"),
        (("a", "b"), '["a", "b"]'),
        ([True, 1, 1.5], "[true, 1, 1.5]"),
        (b"\x01\x02", "AQI="),
        (None, None),
        ({"k": ["v"]}, '{"k": ["v"]}'),
        (frozenset({"only"}), '["only"]'),
        (StrSub("plain"), "plain"),
    ],
)
def test_attr_to_str(value, expected):
    assert attr_to_str(value) == expected


def row(**values):
    return dict(zip(PROMOTED_COLUMNS, promote(values), strict=True))


def test_promote_reads_hot_attributes_with_fallbacks():
    got = row(
        **{
            "gen_ai.operation.name": "chat",
            "gen_ai.workflow.name": "wf",
            "crewai.task.name": "t",
            "gen_ai.agent.name": "a",
            "gen_ai.tool.name": "tool",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.system": "openai",
            "gen_ai.usage.input_tokens": "2000",
            "gen_ai.usage.output_tokens": "100",
            "error.type": "TimeoutError",
        }
    )
    assert got["CrewName"] == "wf"  # crewai.crew.name absent: workflow name
    assert got["Model"] == "gpt-4o-mini-2024-07-18"  # response model wins
    assert got["ProviderName"] == "openai"  # legacy gen_ai.system
    assert (got["InputTokens"], got["OutputTokens"]) == (2000, 100)
    assert got["CostUsd"] == pytest.approx(2000 * 0.15e-6 + 100 * 0.6e-6)
    assert (got["TaskName"], got["AgentName"], got["ToolName"]) == ("t", "a", "tool")
    assert got["ErrorType"] == "TimeoutError"


def test_promote_prices_only_single_calls():
    base = {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": "10"}
    assert row(**base, **{"gen_ai.operation.name": "invoke_agent"})["CostUsd"] is None
    assert row(**base, **{"gen_ai.operation.name": "chat"})["CostUsd"] == pytest.approx(1.5e-6)
    assert (
        row(**{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"})["CostUsd"]
        is None
    )  # no tokens, no cost
    assert row(**{"gen_ai.usage.input_tokens": "junk"})["InputTokens"] is None
    assert row(**{"crewai.crew.name": "c", "gen_ai.workflow.name": "w"})["CrewName"] == "c"
