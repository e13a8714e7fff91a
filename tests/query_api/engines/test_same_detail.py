"""The detail endpoints (a run with its span tree and flow graph, a task with its subtree) and
the flow analytics answer the same on DuckDB and on ClickHouse for the same real runs: every
run and every task of the fixture, by id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from crewscope.demo.crew import make_llm
from crewscope.demo.flow import build_flow
from crewscope.exporter import DuckDBSpanExporter
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.query_api import create_app
from tests.helpers.engines import chdb_store, copy_spans
from tests.helpers.served import API
from tests.query_api.engines.conftest import Engines
from tests.query_api.engines.test_same_answers import _close, both

FLOW_RUNS = 3


def _ids(engines: Engines, path: str, key: str, part: str, **params: Any) -> list[str]:
    """Every id the DuckDB engine lists at `path` (the lists are compared elsewhere)."""
    answer = engines.duckdb.get(API + path, params={"limit": 100, **params}).json()
    return [item[key] for item in answer[part]]


def _walk(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for n in nodes:
        out.append(n)
        out.extend(_walk(n["children"]))
    return out


def test_every_run(engines: Engines) -> None:
    ids = _ids(engines, "/runs", "run_id", "runs", include_nested="true")
    assert len(ids) == 6  # three crews, one flow and the flow's two nested crew runs
    for run_id in ids:
        d, c = both(engines, f"/runs/{run_id}")
        assert d["run_id"] == run_id and d["spans"], run_id
        _close(d, c, run_id)


def test_run_by_trace_id(engines: Engines) -> None:
    runs = _ids(engines, "/runs", "trace_id", "runs")
    for trace_id in runs:
        d, c = both(engines, f"/runs/{trace_id}")
        assert d["trace_id"] == trace_id
        _close(d, c, trace_id)


def test_run_tree_is_the_subtree(engines: Engines) -> None:
    """The tree holds the run's spans with their attributes and events, the failures listed."""
    d, c = both(engines, "/runs", crew="flaky_crew")
    run_id = d["runs"][0]["run_id"]
    for answer in both(engines, f"/runs/{run_id}"):
        spans = _walk(answer["spans"])
        assert spans[0]["span_id"] == run_id
        assert len(spans) == answer["counts"]["spans"]
        tools = [s for s in spans if s["operation"] == "execute_tool"]
        assert any(s["status"] == "error" for s in tools)
        assert {e["span_id"] for e in answer["errors"]} == {
            s["span_id"] for s in spans if s["status"] == "error"
        }
        assert any(s["events"] for s in spans)
        assert all(s["attributes"] for s in spans)


def test_flow_run_graph(engines: Engines) -> None:
    [flow_id] = _ids(engines, "/runs", "run_id", "runs", kind="flow")
    d, c = both(engines, f"/runs/{flow_id}")
    for answer in (d, c):
        graph = answer["flow_graph"]
        assert graph is not None and graph["edges"]
        assert any(n["router"] for n in graph["nodes"])
        assert sum(n["executions"] for n in graph["nodes"]) >= 3
        assert len(answer["nested_runs"]) == 2
    _close(d, c, "flow")


def test_every_task(engines: Engines) -> None:
    ids = _ids(engines, "/tasks", "task_id", "tasks")
    assert len(ids) >= 8
    for task_id in ids:
        d, c = both(engines, f"/tasks/{task_id}")
        assert d["task_id"] == task_id and d["spans"][0]["span_id"] == task_id
        assert d["counts"]["spans"] == len(_walk(d["spans"]))
        _close(d, c, task_id)
    d, c = both(engines, "/tasks", limit=100)
    assert any(t["status"] == "failed" for t in d["tasks"])


def test_unknown_ids(engines: Engines) -> None:
    for client in (engines.duckdb, engines.clickhouse):
        assert client.get(API + "/runs/" + "0" * 16).status_code == 404
        assert client.get(API + "/runs/" + "0" * 32).status_code == 404
        assert client.get(API + "/tasks/" + "0" * 16).status_code == 404


FLOWS = [
    {},
    {"time_range": "1d"},
    {"flow": "nobody"},
]


@pytest.mark.parametrize(
    "params", FLOWS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "all"
)
def test_flows(engines: Engines, params: dict[str, Any]) -> None:
    d, c = both(engines, "/flows", **params)
    if params.get("flow") == "nobody":
        assert d["flows"] == []
    else:
        [flow] = d["flows"]
        assert flow["runs"] == 1 and flow["crew_runs"] == 2 and flow["methods"]
        assert flow["input_tokens"] > 0 and flow["duration"]["p95_ms"] is not None
    _close(d, c, "flows")


def test_flows_by_name(engines: Engines) -> None:
    d, _ = both(engines, "/flows")
    for flow in d["flows"]:
        d1, c1 = both(engines, "/flows", flow=flow["flow"])
        assert [f["flow"] for f in d1["flows"]] == [flow["flow"]]
        _close(d1, c1, flow["flow"])


@pytest.fixture(scope="module")
def flows(fake_llm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    """Both engines over several runs of the demo flow, the last one failing (LLM 500s), so
    that the percentiles have more than one value and a flow and its method fail."""
    path = str(tmp_path_factory.mktemp("flows") / "flows.duckdb")
    provider = TracerProvider(resource=Resource.create({"service.name": "engine-flows"}))
    provider.add_span_processor(SimpleSpanProcessor(DuckDBSpanExporter(path)))
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    fake_llm.reset()
    try:
        llm = make_llm(fake_llm.base_url, max_retries=0)
        for _ in range(FLOW_RUNS):
            build_flow(llm).kickoff()
        calls = list(fake_llm.calls)
        fake_llm.fail_next(100, 500)
        with pytest.raises(Exception):  # noqa: B017 - the research crew fails for good
            build_flow(llm).kickoff()
        fake_llm.reset()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    store = chdb_store("flows")
    spans = copy_spans(path, store)
    with (
        TestClient(create_app(path, rollup_interval_s=0, retention_days=None)) as duck,
        TestClient(create_app(store, rollup_interval_s=0, retention_days=None)) as click,
    ):
        yield Engines(duck, click, calls, spans)


def test_flow_percentiles(flows: Engines) -> None:
    d, c = both(flows, "/flows")
    [flow] = d["flows"]
    assert flow["runs"] == FLOW_RUNS + 1 and flow["failed"] == 1
    assert flow["crew_runs"] >= 2 * FLOW_RUNS + 1
    times = flow["duration"]
    assert times["min_ms"] < times["p50_ms"] < times["p95_ms"] < times["p99_ms"] < times["max_ms"]
    research = next(m for m in flow["methods"] if m["method"] == "research")
    assert research["executions"] == FLOW_RUNS + 1 and research["failed"] == 1
    assert research["avg_ms"] != research["p95_ms"]
    _close(d, c, "flows")


def test_flow_runs_detail(flows: Engines) -> None:
    """Every run (the flows and their crew runs) and every task, the failed flow's too."""
    ids = _ids(flows, "/runs", "run_id", "runs", include_nested="true")
    assert len(ids) >= 3 * FLOW_RUNS + 2
    failed = 0
    for run_id in ids:
        d, c = both(flows, f"/runs/{run_id}")
        _close(d, c, run_id)
        if d["kind"] == "flow" and d["status"] == "failed":
            failed += 1
            graph = d["flow_graph"]
            research = next(n for n in graph["nodes"] if n["method"] == "research")
            assert research["failed"] == 1 and d["errors"]
    assert failed == 1
    for task_id in _ids(flows, "/tasks", "task_id", "tasks"):
        d, c = both(flows, f"/tasks/{task_id}")
        _close(d, c, task_id)
