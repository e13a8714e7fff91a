"""Agents: the crew and service of each agent's latest execution (GET /agents), and agent
latency percentiles over time (GET /metrics/executions/series p50/p95/p99).

Crew and service come from real CrewAI runs on the fake LLM sent by two services (two tracer
providers with their own ``service.name``) into one DuckDB file; percentiles are compared
with numpy over the generated task spans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from crewscope.demo.crew import build_crew, make_llm
from crewscope.exporter import DuckDBSpanExporter
from crewscope.instrumentation import CrewAIInstrumentor
from tests.helpers.projects import standalone_agent
from tests.helpers.projects.review_flow.main import review_flow
from tests.helpers.seed import AGENTS, Seeded
from tests.helpers.served import API


def _as(service: str, db: str, run: Callable[[], Any]) -> None:
    """Run `run` instrumented, its spans stored with service.name `service`."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(DuckDBSpanExporter(db)))
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        run()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()  # releases the file for the next writer


@pytest.fixture(scope="module")
def agents(
    fake_llm: Any,
    tmp_path_factory: pytest.TempPathFactory,
    make_client: Callable[[str], TestClient],
) -> Iterator[dict[str, dict[str, Any]]]:
    db = str(tmp_path_factory.mktemp("latest") / "latest.duckdb")
    llm = make_llm(fake_llm.base_url, max_retries=0)
    # Researcher and Writer work for "alpha crew" (svc-a), then for "beta crew" (svc-b)
    _as("svc-a", db, lambda: build_crew(llm, name="alpha crew").kickoff(inputs={"topic": "a"}))
    _as("svc-b", db, lambda: build_crew(llm, name="beta crew").kickoff(inputs={"topic": "b"}))
    _as("svc-a", db, lambda: review_flow(fake_llm.base_url))  # Editor, in a flow's crew runs
    _as("svc-b", db, lambda: standalone_agent(fake_llm.base_url))  # Fact Checker, no crew
    client = make_client(db)
    reply = client.get(f"{API}/agents", params={"time_range": "1d"})
    assert reply.status_code == 200, reply.text
    yield {a["agent"]: a for a in reply.json()["agents"]}


def test_crew_and_service_of_the_latest_execution(agents: dict[str, dict[str, Any]]) -> None:
    assert set(agents) == {"Researcher", "Writer", "Editor", "Fact Checker"}
    for agent in ("Researcher", "Writer"):
        assert agents[agent]["total_executions"] == 2
        assert (agents[agent]["crew"], agents[agent]["service"]) == ("beta crew", "svc-b")
    assert agents["Editor"]["total_executions"] == 2
    assert (agents["Editor"]["crew"], agents["Editor"]["service"]) == ("editor crew", "svc-a")
    # a standalone agent run has no crew
    assert agents["Fact Checker"]["crew"] is None
    assert agents["Fact Checker"]["service"] == "svc-b"
    assert all(a["last_execution"] for a in agents.values())


def test_crew_and_service_of_generated_spans(client: TestClient) -> None:
    """The generated spans' resource names the service (tests/helpers/spans.py SERVICE)."""
    body = client.get(f"{API}/agents", params={"time_range": "30d"}).json()
    by_name = {a["agent"]: a for a in body["agents"]}
    assert set(by_name) == set(AGENTS)
    for agent in AGENTS:
        assert by_name[agent]["crew"] in {"research_crew", "trading_crew"}
        assert by_name[agent]["service"] == "crew-app"


def test_latest_crew_follows_the_newest_generated_run(client: TestClient, seeded: Seeded) -> None:
    by_name = {a["agent"]: a for a in client.get(f"{API}/agents").json()["agents"]}
    for agent in AGENTS:
        newest = max(
            ((start, crew) for crew, start, specs in seeded.run_specs if any(
                s.agent == agent for s in specs)),
        )  # fmt: skip
        assert by_name[agent]["crew"] == newest[1], agent


def test_agent_latency_percentiles_per_bucket(client: TestClient, seeded: Seeded) -> None:
    start = seeded.now - timedelta(days=30)
    body = client.get(
        f"{API}/metrics/executions/series", params={"resolution": "1d", "start": start.isoformat()}
    ).json()
    series = {s["agent"]: s["points"] for s in body["series"]}
    assert set(series) == set(AGENTS)
    tasks: dict[tuple[str, datetime], list[float]] = {}
    for run in seeded.runs:
        for row in run.rows:
            if row["GenAiOperation"] == "invoke_agent":
                day = row["Timestamp"].replace(hour=0, minute=0, second=0, microsecond=0)
                tasks.setdefault((row["AgentName"], day), []).append(row["Duration"] / 1e6)
    checked = 0
    for agent, points in series.items():
        for p in points:
            bucket = datetime.fromisoformat(p["bucket"].replace("Z", "+00:00")).replace(tzinfo=None)
            durations = tasks[(agent, bucket)]
            assert p["executions"] == len(durations)
            for key, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
                assert p[key] == pytest.approx(np.percentile(durations, q)), (agent, key)
            assert p["p50_ms"] <= p["p95_ms"] <= p["p99_ms"] <= p["max_ms"]
            checked += len(durations) > 1
    assert checked > 0  # some buckets hold several executions (percentiles interpolate)
    assert sum(len(points) for points in series.values()) == len(tasks)
