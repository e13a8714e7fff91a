"""The detail endpoints (a run with its span tree and flow graph, a task with its subtree) and
the flow analytics answer the same on DuckDB and on ClickHouse for the same real runs: every
run and every task of the fixture, by id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.served import API
from tests.query_api.engines.conftest import Engines
from tests.query_api.engines.test_same_answers import _close, both


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
