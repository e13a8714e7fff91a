"""A run's nested runs in GET /runs/{run_id}, the same on both engines, by run id and by trace
id, for runs with a few nested runs and for one with more than a detail lists (the newest
`MAX_NESTED_RUNS`). The runs are spans written as crewscope's instrumentation stamps them:
flow kickoffs with crew kickoffs nested in them, two top-level flows in one trace."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, set_span_in_context

from crewscope.exporter import DuckDBSpanExporter
from crewscope.query_api import create_app
from crewscope.query_api.queries.runs import MAX_NESTED_RUNS
from tests.helpers.engines import chdb_store, copy_spans
from tests.helpers.served import API

BIG = MAX_NESTED_RUNS + 2
"""Crew runs nested in the big flow: more than a detail lists."""


@dataclass
class Nested:
    duckdb: TestClient
    clickhouse: TestClient
    flows: dict[str, str]  # flow name -> run id
    nested: dict[str, list[str]]  # flow name -> its nested run ids, oldest first
    traces: dict[str, str]  # flow name -> trace id


def _hex(value: int, digits: int) -> str:
    return format(value, f"0{digits}x")


def _write(path: str) -> tuple[dict[str, str], dict[str, list[str]], dict[str, str]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "nested-app"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("crewscope.tests")
    t0 = datetime.now(timezone.utc) - timedelta(hours=2)

    def ns(ms: int) -> int:
        return int((t0 + timedelta(milliseconds=ms)).timestamp() * 1e9)

    flows: dict[str, str] = {}
    nested: dict[str, list[str]] = {}
    traces: dict[str, str] = {}

    def flow(name: str, start_ms: int, crews: int, parent: Span | None = None) -> None:
        context = set_span_in_context(parent) if parent is not None else None
        span = tracer.start_span(
            f"invoke_workflow {name}", context=context, start_time=ns(start_ms),
            attributes={"gen_ai.operation.name": "invoke_workflow", "crewai.flow.name": name,
                        "gen_ai.workflow.name": name,
                        "crewscope.run.kind": "flow"},
        )  # fmt: skip
        run_id = _hex(span.get_span_context().span_id, 16)
        flows[name], nested[name] = run_id, []
        traces[name] = _hex(span.get_span_context().trace_id, 32)
        for i in range(crews):
            crew = tracer.start_span(
                f"invoke_workflow {name}_crew", context=set_span_in_context(span),
                start_time=ns(start_ms + 1 + i),
                attributes={"gen_ai.operation.name": "invoke_workflow",
                            "crewai.crew.name": f"{name}_crew_{i}", "crewscope.run.kind": "crew",
                            "crewscope.run.parent_id": run_id, "crewscope.run.root_id": run_id,
                            "crewscope.flow.method": "work"},
            )  # fmt: skip
            crew.end(end_time=ns(start_ms + 1 + i) + 500_000)
            nested[name].append(_hex(crew.get_span_context().span_id, 16))
        span.end(end_time=ns(start_ms + crews + 10))

    flow("big_flow", 0, BIG)
    flow("small_flow", 5_000, 3)
    # One trace, two top-level flows (under a caller's span): its trace id names the first.
    request = tracer.start_span("POST /jobs", start_time=ns(9_000))
    flow("first_flow", 9_001, 2, request)
    flow("second_flow", 9_100, 2, request)
    request.end(end_time=ns(9_200))
    provider.shutdown()
    exporter = DuckDBSpanExporter(path)
    exporter.export(memory.get_finished_spans())
    exporter.shutdown()
    return flows, nested, traces


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nested]:
    path = str(tmp_path_factory.mktemp("nested") / "nested.duckdb")
    flows, nested, traces = _write(path)
    store = chdb_store("nested")
    copy_spans(path, store)
    with (
        TestClient(create_app(path, rollup_interval_s=0, retention_days=None)) as duck,
        TestClient(create_app(store, rollup_interval_s=0, retention_days=None)) as click,
    ):
        yield Nested(duck, click, flows, nested, traces)


def _detail(runs: Nested, run_id: str) -> dict[str, Any]:
    got = [c.get(f"{API}/runs/{run_id}") for c in (runs.duckdb, runs.clickhouse)]
    assert [r.status_code for r in got] == [200, 200], [r.text for r in got]
    duck, click = (r.json() for r in got)
    assert click == duck
    return dict(duck)


@pytest.mark.parametrize("name", ["small_flow", "first_flow", "second_flow"])
def test_a_few_nested_runs(runs: Nested, name: str) -> None:
    detail = _detail(runs, runs.flows[name])
    assert detail["run_id"] == runs.flows[name] and detail["kind"] == "flow"
    assert [r["run_id"] for r in detail["nested_runs"]] == runs.nested[name]  # oldest first
    assert {r["parent_run_id"] for r in detail["nested_runs"]} == {runs.flows[name]}
    for run_id in runs.nested[name]:  # a nested run has none of its own
        nested = _detail(runs, run_id)
        assert nested["parent_run_id"] == runs.flows[name] and nested["nested_runs"] == []


def test_more_nested_runs_than_listed(runs: Nested) -> None:
    detail = _detail(runs, runs.flows["big_flow"])
    listed = [r["run_id"] for r in detail["nested_runs"]]
    assert listed == runs.nested["big_flow"][-MAX_NESTED_RUNS:]  # the newest, oldest first
    assert detail["name"] == "big_flow" and detail["spans"]
    assert _detail(runs, runs.traces["big_flow"]) == detail


def test_by_trace_id_the_first_top_level_run(runs: Nested) -> None:
    assert runs.traces["first_flow"] == runs.traces["second_flow"]
    detail = _detail(runs, runs.traces["first_flow"])
    assert detail["run_id"] == runs.flows["first_flow"]
    assert [r["run_id"] for r in detail["nested_runs"]] == runs.nested["first_flow"]
    assert _detail(runs, runs.traces["small_flow"])["run_id"] == runs.flows["small_flow"]


def test_unknown_ids(runs: Nested) -> None:
    for run_id in ("0" * 16, "0" * 32, runs.nested["small_flow"][0][::-1]):
        for client in (runs.duckdb, runs.clickhouse):
            assert client.get(f"{API}/runs/{run_id}").status_code == 404, run_id
