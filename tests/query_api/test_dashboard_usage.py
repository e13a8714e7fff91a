"""Dashboard JSON and page; tools, LLM, memory and endpoint statistics."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.helpers.seed import Seeded
from tests.helpers.served import API


def test_dashboard(client: TestClient, seeded: Seeded) -> None:
    body = client.get(f"{API}/dashboard").json()
    periods = {t["period"]: t for t in body["totals"]}
    assert list(periods) == ["24h", "7d", "30d"]
    month = periods["30d"]
    assert month["runs"] == len(seeded.runs)
    assert month["executions"] == len(seeded.tasks())
    assert month["failed_executions"] == sum(s.failed for s in seeded.tasks())
    day = seeded.now - timedelta(days=1)
    assert periods["24h"]["runs"] == sum(1 for _, s, _ in seeded.run_specs if s >= day)
    assert body["average_success_rate"] == pytest.approx(month["success_rate"])
    assert body["top_agents"][0]["agent"] == "Researcher"  # never fails
    assert {a["agent"] for a in body["agents_with_issues"]} >= {"Analyst"}
    trend = body["executions_trend"]
    assert sum(p["executions"] for p in trend) == len(seeded.tasks())
    assert [p["day"] for p in trend] == sorted(p["day"] for p in trend)


def test_dashboard_page(client: TestClient) -> None:
    r = client.get("/dashboard")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Researcher" in r.text and "<table>" in r.text
    assert client.get("/", follow_redirects=False).status_code in (302, 307)


def test_tools(client: TestClient, seeded: Seeded) -> None:
    tools = client.get(f"{API}/tools?time_range=30d").json()["tools"]
    rows = [r for run in seeded.runs for r in run.rows if r.get("GenAiOperation") == "execute_tool"]
    (search,) = tools
    assert search["tool"] == "search" and search["calls"] == len(rows)
    assert search["errors"] == sum(r["StatusCode"] == "Error" for r in rows)
    d = np.array([r["Duration"] / 1e6 for r in rows])
    assert search["p50_ms"] == pytest.approx(np.percentile(d, 50))
    assert search["p95_ms"] == pytest.approx(np.percentile(d, 95))
    assert client.get(f"{API}/tools?agent=Nobody").json()["tools"] == []


def test_llm_usage(client: TestClient, seeded: Seeded) -> None:
    body = client.get(f"{API}/llm?time_range=30d").json()
    models = {m["model"]: m for m in body["by_model"]}
    chats = [r for run in seeded.runs for r in run.rows if r.get("GenAiOperation") == "chat"]
    mystery = [r for r in chats if r["Model"] == "mystery-model"]
    assert models["mystery-model"]["calls"] == len(mystery) > 0
    assert models["mystery-model"]["cost_usd"] is None  # unknown price: null, not zero
    assert models["mystery-model"]["priced_calls"] == 0
    known = models["gpt-4o-mini"]
    assert known["cost_usd"] == pytest.approx(0.0015 * (len(chats) - len(mystery)))
    assert known["input_tokens"] == sum(
        r["InputTokens"] for r in chats if r["Model"] != "mystery-model"
    )
    agents = {a["agent"]: a for a in body["by_agent"]}
    assert sum(a["calls"] for a in agents.values()) == len(chats)
    only = client.get(f"{API}/llm?time_range=30d&agent=Writer").json()
    assert [a["agent"] for a in only["by_agent"]] == ["Writer"]


def test_memory_stats(client: TestClient) -> None:
    agents = client.get(f"{API}/memory/stats").json()["agents"]
    assert [a["agent"] for a in agents] == ["Writer"]
    assert agents[0]["memories_stored_count"] == agents[0]["memories_recalled_count"] > 0


def test_endpoint_performance(client: TestClient, seeded: Seeded) -> None:
    body = client.get(f"{API}/endpoints").json()
    routes = {e["route"]: e for e in body["endpoints"]}
    for route in ("/items/{id}", "/health"):
        reqs = [(s, ms) for r, s, ms in seeded.http if r == route]
        e = routes[route]
        assert e["requests"] == len(reqs) and e["method"] == "GET"
        assert e["client_errors"] == sum(400 <= s < 500 for s, _ in reqs)
        assert e["server_errors"] == sum(s >= 500 for s, _ in reqs)
        d = np.array([ms for _, ms in reqs])
        for key, q in (("p50_ms", 50), ("p90_ms", 90), ("p99_ms", 99)):
            assert e[key] == pytest.approx(np.percentile(d, q)), key
    assert client.get(f"{API}/endpoints?time_range=1y").status_code == 422


def test_health(client: TestClient) -> None:
    body = client.get(f"{API}/system/health").json()
    names = {s["name"]: s for s in body["service_statuses"]}
    assert {"database", "ingest", "rollup_job", "retention_job", "ingest_queue"} <= set(names)
    assert "exporter_queue" not in names  # no placeholder for a queue nobody registered
    assert names["database"]["status"] == "healthy" and names["database"]["metrics"]["spans"] > 0
    assert body["overall_status"] == "healthy"
    depth = {"n": 0}
    client.app.state.health.register_queue("exporter_queue", lambda: depth["n"], capacity=10)  # type: ignore[attr-defined]
    depth["n"] = 9
    body = client.get(f"{API}/system/health").json()
    assert body["overall_status"] == "degraded"
    client.app.state.health.register_queue("exporter_queue", lambda: 0, capacity=10)  # type: ignore[attr-defined]
    assert client.get(f"{API}/system/health").json()["overall_status"] == "healthy"


def test_openapi_lists_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/runs", "/runs/{run_id}", "/tasks", "/tasks/{task_id}", "/agents",
        "/agents/{agent}/metrics", "/agents/{agent}/memory/stats", "/rollups/daily",
        "/rollups/refresh", "/dashboard", "/tools", "/llm", "/memory/stats", "/endpoints",
        "/system/health", "/export/{dataset}",
    ):  # fmt: skip
        assert f"{API}{path}" in paths, path
    assert client.get("/docs").status_code == 200
