"""Agents: list, metrics (realtime vs numpy, realtime == aggregated), trend, 404/422."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from crewscope.query_api.dates import utcnow
from tests.helpers.seed import AGENTS, Seeded
from tests.helpers.served import API
from tests.helpers.spans import TaskSpec, build_run, insert_spans, new_db


def test_list(client: TestClient, seeded: Seeded) -> None:
    body = client.get(f"{API}/agents?time_range=30d").json()
    by_name = {a["agent"]: a for a in body["agents"]}
    assert set(by_name) == set(AGENTS)
    for agent in AGENTS:
        specs = seeded.tasks(agent)
        a = by_name[agent]
        assert a["total_executions"] == len(specs)
        assert a["failed_executions"] == sum(s.failed for s in specs)
        assert a["avg_ms"] == pytest.approx(np.mean([s.duration_ms for s in specs]))
        assert a["p95_ms"] == pytest.approx(np.percentile([s.duration_ms for s in specs], 95))
    one_day = client.get(f"{API}/agents?time_range=1d").json()["agents"]
    assert {a["agent"] for a in one_day} == set(AGENTS)  # known agents stay listed
    assert sum(a["total_executions"] for a in one_day) < len(seeded.tasks())


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("time_range", ["7d", "30d"])
def test_realtime_metrics_match_numpy(
    client: TestClient, seeded: Seeded, agent: str, time_range: str
) -> None:
    since = seeded.now - timedelta(days=int(time_range[:-1]))
    specs = seeded.tasks(agent, since=since)
    durations = np.array([s.duration_ms for s in specs])
    r = client.get(f"{API}/agents/{agent}/metrics", params={"time_range": time_range})
    assert r.status_code == 200
    m = r.json()
    failed = sum(s.failed for s in specs)
    assert m["total_executions"] == len(specs)
    assert m["failed_executions"] == failed
    assert m["success_rate"] == pytest.approx(100 * (len(specs) - failed) / len(specs))
    assert m["error_rate"] == pytest.approx(100 * failed / len(specs))
    t = m["execution_times"]
    assert t["avg_ms"] == pytest.approx(durations.mean())
    assert t["min_ms"] == pytest.approx(durations.min())
    assert t["max_ms"] == pytest.approx(durations.max())
    for key, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
        assert t[key] == pytest.approx(np.percentile(durations, q)), key
    assert m["input_tokens"] == sum(s.input_tokens * s.steps for s in specs)
    priced = [s for s in specs if s.cost is not None]
    assert m["cost_usd"] == pytest.approx(sum(0.0015 * s.steps for s in priced))
    errors = [s.error[:100] for s in specs if s.failed]
    if errors:
        top = m["top_errors"][0]
        assert top["count"] == max(errors.count(e) for e in set(errors))
    assert len(m["top_errors"]) <= 5


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("time_range", ["30d", "90d"])
def test_realtime_equals_aggregated(client: TestClient, agent: str, time_range: str) -> None:
    """Same numbers when the window holds whole days of data (the seed spans ~10 days)."""
    url = f"{API}/agents/{agent}/metrics?time_range={time_range}"
    real = client.get(url + "&metric_type=realtime").json()
    agg = client.get(url + "&metric_type=aggregated").json()
    assert agg["rollup_refreshed_at"] is not None
    for key in ("total_executions", "successful_executions", "failed_executions", "top_errors"):
        assert real[key] == agg[key], key
    for key in ("success_rate", "error_rate", "cost_usd"):
        assert real[key] == pytest.approx(agg[key]), key
    for key, value in real["execution_times"].items():
        assert value == pytest.approx(agg["execution_times"][key]), key
    assert (real["input_tokens"], real["output_tokens"]) == (
        agg["input_tokens"],
        agg["output_tokens"],
    )


def test_aggregated_window_is_whole_days(client: TestClient) -> None:
    real = client.get(f"{API}/agents/Writer/metrics?time_range=7d").json()
    agg = client.get(f"{API}/agents/Writer/metrics?time_range=7d&metric_type=aggregated").json()
    assert agg["window_start"].endswith("T00:00:00Z")
    assert agg["window_start"] <= real["window_start"]
    assert agg["total_executions"] >= real["total_executions"]


def test_unknown_agent_404_and_bad_params_422(client: TestClient) -> None:
    assert client.get(f"{API}/agents/Nobody/metrics").status_code == 404
    r = client.get(f"{API}/agents/Writer/metrics?time_range=2d")
    assert r.status_code == 422 and "time_range" in r.text
    assert client.get(f"{API}/agents/Writer/metrics?metric_type=hourly").status_code == 422


@pytest.fixture(scope="module")
def trend_client(
    tmp_path_factory: pytest.TempPathFactory, make_client: Callable[[str], TestClient]
) -> TestClient:
    """Agents whose success rate rises, falls, holds, or who ran too little."""
    now = utcnow()
    rng = random.Random(3)
    spans = []
    plans = {
        "Riser": [i >= 10 or i % 2 == 0 for i in range(20)],  # 50% then 100%
        "Faller": [i < 10 for i in range(20)],
        "Steady": [i % 5 != 0 for i in range(20)],
        "Rare": [True] * 5,
    }
    for agent, outcomes in plans.items():
        for i, ok in enumerate(outcomes):
            start = now - timedelta(days=6) + timedelta(hours=6 * i)
            spec = TaskSpec(agent, "t", 100.0 + i, failed=not ok, tool=None, steps=1)
            spans += build_run(rng, "trend_crew", start, [spec]).spans
    path = str(Path(tmp_path_factory.mktemp("trend")) / "trend.duckdb")
    with new_db(path) as store:
        insert_spans(store, spans)
    return make_client(path)


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("Riser", "improving"),
        ("Faller", "declining"),
        ("Steady", "stable"),
        ("Rare", "insufficient_data"),
    ],
)
def test_trend(trend_client: TestClient, agent: str, expected: str) -> None:
    m = trend_client.get(f"{API}/agents/{agent}/metrics?time_range=7d").json()
    assert m["trend"] == expected
    empty = trend_client.get(f"{API}/agents/{agent}/metrics?time_range=1d").json()
    if empty["total_executions"] == 0:
        assert empty["trend"] == "no_data"
        assert empty["execution_times"]["p50_ms"] is None


def test_memory_stats_per_agent(client: TestClient, seeded: Seeded) -> None:
    body = client.get(f"{API}/agents/Writer/memory/stats").json()
    runs_with_writer = sum(
        1 for _, start, specs in seeded.run_specs if any(s.agent == "Writer" for s in specs)
    )
    assert body["memories_stored_count"] == runs_with_writer
    assert body["memories_recalled_count"] == runs_with_writer
    analyst = client.get(f"{API}/agents/Analyst/memory/stats").json()
    assert analyst["memories_stored_count"] == 0 and analyst["last_activity_timestamp"] is None
    assert client.get(f"{API}/agents/Nobody/memory/stats").status_code == 404
