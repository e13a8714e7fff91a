"""Tools, LLM, memory and endpoint statistics against the generated spans."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.helpers.seed import Seeded
from tests.helpers.served import API


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
