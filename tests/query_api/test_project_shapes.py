"""Realistic CrewAI project shapes through the real exporter and `crewscope serve` over HTTP:
runs, nested crew runs, tasks, agents, flows, dashboard and rollups as a user counts them,
with tokens equal to what the fake LLM reported."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from prometheus_client.parser import text_string_to_metric_families

from crewscope.exporter import DuckDBSpanExporter
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.query_api import create_app
from tests.helpers.projects import SHAPES, Shape, research_crew
from tests.helpers.served import API, serve_app


def _fastapi_request(base_url: str, provider: TracerProvider) -> None:
    """A crew kicked off inside an instrumented FastAPI request handler."""
    app = FastAPI()

    @app.post("/research")
    def handle() -> dict[str, str]:
        return {"raw": research_crew(base_url).raw}

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    with TestClient(app) as client:
        assert client.post("/research").status_code == 200


SHAPES_HERE: dict[str, Shape] = {
    **SHAPES,
    "fastapi_request": Shape(_fastapi_request, {"crew": 1}),
}


@dataclass
class ShapeRun:
    start: datetime
    end: datetime
    input_tokens: int
    output_tokens: int
    llm_calls: int


@dataclass
class Shapes:
    url: str
    runs: dict[str, ShapeRun] = field(default_factory=dict)

    def get(self, path: str, **params: Any) -> Any:
        reply = httpx.get(self.url + API + path, params=params, timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def window(self, name: str) -> dict[str, str]:
        run = self.runs[name]
        return {"start_date_from": run.start.isoformat(), "start_date_to": run.end.isoformat()}


@pytest.fixture(scope="module")
def shapes(fake_llm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shapes]:
    db = str(Path(tmp_path_factory.mktemp("shapes")) / "shapes.duckdb")
    provider = TracerProvider(resource=Resource.create({"service.name": "shapes"}))
    provider.add_span_processor(SimpleSpanProcessor(DuckDBSpanExporter(db)))
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    done: dict[str, ShapeRun] = {}
    callers = {
        "crew_twice_under_caller_span": provider.get_tracer("app"),
        "fastapi_request": provider,
    }
    try:
        for name, shape in SHAPES_HERE.items():
            fake_llm.reset()
            start = datetime.now(timezone.utc)
            shape.run(fake_llm.base_url, *([callers[name]] if name in callers else []))
            calls = [c for c in fake_llm.calls if c.status == 200]
            done[name] = ShapeRun(
                start,
                datetime.now(timezone.utc),
                sum(c.prompt_tokens for c in calls),
                sum(c.completion_tokens for c in calls),
                len(calls),
            )
            time.sleep(0.01)  # shapes' windows never overlap
    finally:
        instrumentor.uninstrument()
        provider.shutdown()  # releases the file for the server
    app = create_app(db, rollup_interval_s=0, retention_days=None, self_telemetry=False)
    server, thread, port = serve_app(app)
    try:
        yield Shapes(f"http://127.0.0.1:{port}", done)
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.mark.parametrize("name", list(SHAPES_HERE))
def test_runs_as_users_count_them(shapes: Shapes, name: str) -> None:
    shape, truth = SHAPES_HERE[name], shapes.runs[name]
    top = shapes.get("/runs", limit=100, **shapes.window(name))["runs"]
    kinds: dict[str, int] = {}
    for run in top:
        kinds[run["kind"]] = kinds.get(run["kind"], 0) + 1
        assert run["parent_run_id"] is None and run["root_run_id"] == run["run_id"]
        assert run["name"] and run["name"] == run["name"].strip() and "  " not in run["name"]
    assert kinds == shape.top_level
    assert len({r["run_id"] for r in top}) == len(top)  # unique, also within one trace
    assert len({r["trace_id"] for r in top}) == (shape.traces if len(top) > 1 else 1)
    # every top-level run's tokens add up to exactly what the fake LLM reported
    assert sum(r["input_tokens"] or 0 for r in top) == truth.input_tokens > 0
    assert sum(r["output_tokens"] or 0 for r in top) == truth.output_tokens > 0
    assert sum(r["llm_calls"] or 0 for r in top) == truth.llm_calls
    every = shapes.get("/runs", limit=100, include_nested="true", **shapes.window(name))["runs"]
    nested = [r for r in every if r["parent_run_id"] is not None]
    assert len(nested) == shape.nested
    top_ids = {r["run_id"] for r in top}
    for run in nested:
        assert run["kind"] == "crew" and run["parent_run_id"] in top_ids
        assert run["root_run_id"] == run["parent_run_id"] and run["flow_method"]


@pytest.mark.parametrize("name", list(SHAPES_HERE))
def test_run_detail_is_the_runs_subtree(shapes: Shapes, name: str) -> None:
    top = shapes.get("/runs", limit=100, **shapes.window(name))["runs"]
    tasks_total = 0
    for run in top:
        detail = shapes.get(f"/runs/{run['run_id']}")
        assert [s["span_id"] for s in detail["spans"]] == [run["run_id"]]
        assert detail["counts"]["llm_calls"] == (run["llm_calls"] or 0)
        assert detail["counts"]["errors"] == 0 and detail["errors"] == []
        nested_ids = {r["run_id"] for r in detail["nested_runs"]}
        assert len(nested_ids) == SHAPES_HERE[name].nested // max(len(top), 1)
        tasks = shapes.get("/tasks", run_id=run["run_id"], limit=100)
        assert tasks["total"] == detail["counts"]["tasks"] > 0
        for task in tasks["tasks"]:
            assert task["run_id"] == run["run_id"]
            assert task["crew_run_id"] in nested_ids | {run["run_id"]}
            assert task["agent"] == task["agent"].strip() and "\n" not in task["agent"]
        tasks_total += tasks["total"]
    window = shapes.get("/tasks", limit=1, **shapes.window(name))
    assert window["total"] == tasks_total


def test_flows(shapes: Shapes) -> None:
    flows = {f["flow"]: f for f in shapes.get("/flows", time_range="1d")["flows"]}
    content = next(f for name, f in flows.items() if "Content" in name or "content" in name)
    batch = next(f for name, f in flows.items() if "Batch" in name or "batch" in name)
    assert content["runs"] == batch["runs"] == 1
    assert content["crew_runs"] == SHAPES["content_flow"].nested
    assert batch["crew_runs"] == SHAPES["batch_flow"].nested
    assert content["success_rate"] == 100.0
    assert content["input_tokens"] == shapes.runs["content_flow"].input_tokens
    methods = {m["method"] for m in content["methods"]}
    assert {"plan_content", "write_post", "choose_format"} <= methods
    assert all(m["executions"] >= 1 for m in content["methods"])


def test_delegated_work_belongs_to_the_coworkers(shapes: Shapes) -> None:
    agents = {a["agent"]: a for a in shapes.get("/agents", time_range="1d")["agents"]}
    for coworker in SHAPES["support_crew"].delegated:
        assert agents[coworker]["total_executions"] >= 1, sorted(agents)


def test_dashboard_and_rollups_count_runs_the_same_way(shapes: Shapes) -> None:
    top_level = sum(sum(s.top_level.values()) for s in SHAPES_HERE.values())
    nested = sum(s.nested for s in SHAPES_HERE.values())
    totals = shapes.get("/dashboard")["totals"]
    assert totals[0]["runs"] == top_level
    assert totals[0]["input_tokens"] == sum(r.input_tokens for r in shapes.runs.values())
    assert shapes.get("/runs", limit=1)["total"] == top_level
    assert shapes.get("/runs", limit=1, include_nested="true")["total"] == top_level + nested
    reply = httpx.post(shapes.url + API + "/rollups/refresh", timeout=60)
    assert reply.status_code == 200
    day = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    crews = shapes.get("/rollups/daily", group_by="crew", date_from=day, limit=100)["rows"]
    crew_runs = shapes.get("/runs", limit=100, include_nested="true", kind="crew")["total"]
    assert sum(r["executions"] for r in crews) == crew_runs
    scrape = httpx.get(shapes.url + "/metrics", timeout=30).text
    exposed = [
        s
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
        if s.name == "crewscope_runs_total"
    ]
    assert sum(s.value for s in exposed) == top_level
    assert {s.labels["kind"] for s in exposed} == {"flow", "crew", "agent"}
