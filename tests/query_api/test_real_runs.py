"""The query API over a DuckDB file written by the real exporter from real CrewAI runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from crewscope.demo.crew import build_crew, make_llm, make_memory, word_counter_tool
from crewscope.exporter import DuckDBSpanExporter
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.query_api import create_app

API = "/api/v1/monitoring"


@dataclass
class RealRuns:
    client: TestClient
    calls: dict[str, list[Any]]  # crew name -> fake LLM replies during its run


@pytest.fixture(scope="module")
def real(fake_llm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRuns]:
    tmp = tmp_path_factory.mktemp("real")
    db = str(tmp / "real.duckdb")
    exporter = DuckDBSpanExporter(db)
    provider = TracerProvider(resource=Resource.create({"service.name": "real-crews"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    calls: dict[str, list[Any]] = {}
    fake_llm.reset()
    try:
        llm = make_llm(fake_llm.base_url, max_retries=0)
        memory = make_memory(llm, str(tmp / "memory"))
        build_crew(llm, name="research_crew", memory=memory).kickoff(inputs={"topic": "a"})
        calls["research_crew"] = fake_llm.calls
        fake_llm.reset()
        build_crew(llm, name="flaky_crew", tool=word_counter_tool(fail=True)).kickoff(
            inputs={"topic": "b"}
        )
        calls["flaky_crew"] = fake_llm.calls
        fake_llm.reset()
        fake_llm.fail_next(100, 500)
        with pytest.raises(Exception):  # noqa: B017 - the crew fails for good
            build_crew(llm, name="broken_crew").kickoff(inputs={"topic": "c"})
        calls["broken_crew"] = fake_llm.calls
        fake_llm.reset()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()  # releases the file for the server
    app = create_app(db, rollup_interval_s=0, retention_days=None)
    with TestClient(app) as client:
        yield RealRuns(client, calls)


def _get(real: RealRuns, path: str, **params: Any) -> Any:
    reply = real.client.get(API + path, params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_runs_list_and_statuses(real):
    runs = _get(real, "/runs")
    assert runs["total"] == 3
    by_crew = {r["crew"]: r for r in runs["runs"]}
    assert set(by_crew) == {"research_crew", "flaky_crew", "broken_crew"}
    assert by_crew["broken_crew"]["status"] == "failed"
    assert by_crew["broken_crew"]["error_preview"]
    assert by_crew["research_crew"]["status"] == "completed"
    failed = _get(real, "/runs", status="failed")
    assert [r["crew"] for r in failed["runs"]] == ["broken_crew"]


def test_run_detail_tree_tokens_and_cost(real):
    [run] = [r for r in _get(real, "/runs")["runs"] if r["crew"] == "flaky_crew"]
    detail = _get(real, f"/runs/{run['run_id']}")
    replies = real.calls["flaky_crew"]
    assert detail["input_tokens"] == sum(c.prompt_tokens for c in replies)
    assert detail["output_tokens"] == sum(c.completion_tokens for c in replies)
    assert detail["cost_usd"] and detail["cost_usd"] > 0
    [root] = detail["spans"]
    assert root["name"] == "invoke_workflow flaky_crew"
    assert [c["name"] for c in root["children"]] == [
        "invoke_agent Researcher",
        "invoke_agent Writer",
    ]
    step = root["children"][0]["children"][0]
    assert [c["name"] for c in step["children"]] == [
        "chat gpt-4o-mini",
        "execute_tool word_counter",
    ]
    assert detail["counts"]["tool_calls"] == 1 and detail["counts"]["errors"] >= 1
    assert any(e["error_type"] == "RuntimeError" for e in detail["errors"])


def test_tasks_and_agent_metrics(real):
    researcher = _get(real, "/tasks", agent="Researcher")
    assert researcher["total"] == 3
    assert sorted(t["status"] for t in researcher["tasks"]) == ["completed", "completed", "failed"]
    assert _get(real, "/tasks", agent="Writer")["total"] == 2
    metrics = _get(real, "/agents/Researcher/metrics", time_range="1d")
    assert metrics["total_executions"] == 3 and metrics["failed_executions"] == 1
    assert metrics["success_rate"] == pytest.approx(200 / 3, abs=0.01)
    assert metrics["top_errors"] and metrics["top_errors"][0]["count"] == 1
    task = researcher["tasks"][0]
    detail = _get(real, f"/tasks/{task['task_id']}")
    assert detail["spans"][0]["name"] == "invoke_agent Researcher"


def test_tools_llm_and_memory_usage(real):
    tools = {t["tool"]: t for t in _get(real, "/tools", time_range="1d")["tools"]}
    assert tools["word_counter"]["calls"] == 2 and tools["word_counter"]["errors"] == 1
    llm = _get(real, "/llm", time_range="1d")
    [model] = [m for m in llm["by_model"] if m["model"] == "gpt-4o-mini"]
    ok = [c for cs in real.calls.values() for c in cs if c.status == 200]
    assert model["input_tokens"] == sum(c.prompt_tokens for c in ok)
    assert model["cost_usd"] > 0
    memory = {m["agent"]: m for m in _get(real, "/memory/stats", time_range="1d")["agents"]}
    assert memory["Researcher"]["memories_stored_count"] >= 1
    assert memory["Writer"]["memories_recalled_count"] >= 1


def test_health_and_dashboard(real):
    health = _get(real, "/system/health")
    statuses = {s["name"]: s["status"] for s in health["service_statuses"]}
    assert statuses["database"] == "healthy"
    dashboard = _get(real, "/dashboard")
    day = [t for t in dashboard["totals"] if t["period"] == "24h"][0]
    assert day["runs"] == 3 and day["failed_runs"] == 1
