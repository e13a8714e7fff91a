"""Process stats, token/cost and execution series, success rate: against independent sums."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from crewscope.exporter.metric_exporter import DuckDBMetricExporter
from crewscope.instrumentation._process_metrics import ProcessMetrics
from crewscope.query_api import create_app
from crewscope.query_api.dates import utcnow
from tests.helpers.seed import AGENTS, Seeded, seed_database

API = "/api/v1/monitoring"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_database(str(tmp_path_factory.mktemp("lm") / "seeded.duckdb"), utcnow())


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[TestClient]:
    app = create_app(seeded.path, rollup_interval_s=0, retention_days=None, self_telemetry=False)
    with TestClient(app) as c:
        yield c


def _get(client: TestClient, path: str, **params: Any) -> Any:
    r = client.get(API + path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _chat_rows(seeded: Seeded) -> list[dict[str, Any]]:
    return [r for run in seeded.runs for r in run.rows if r.get("GenAiOperation") == "chat"]


def test_token_series_equals_chat_span_sums(client: TestClient, seeded: Seeded) -> None:
    start = (seeded.now - timedelta(days=30)).isoformat()
    body = _get(client, "/metrics/tokens/series", resolution="1h", start=start)
    [series] = body["series"]
    assert series["key"] is None
    chats = _chat_rows(seeded)
    pts = series["points"]
    assert sum(p["calls"] for p in pts) == len(chats)
    assert sum(p["input_tokens"] for p in pts) == sum(r["InputTokens"] or 0 for r in chats)
    assert sum(p["output_tokens"] for p in pts) == sum(r["OutputTokens"] or 0 for r in chats)
    assert sum(p["cost_usd"] or 0 for p in pts) == pytest.approx(
        sum(r["CostUsd"] or 0 for r in chats)
    )
    assert all(p["total_tokens"] == p["input_tokens"] + p["output_tokens"] for p in pts)
    assert [p["bucket"] for p in pts] == sorted(p["bucket"] for p in pts)

    by_model = _get(
        client, "/metrics/tokens/series", resolution="1d", start=start, group_by="model"
    )
    keys = {s["key"]: s for s in by_model["series"]}
    assert set(keys) == {r["Model"] for r in chats}
    mystery = sum(p["calls"] for p in keys["mystery-model"]["points"])
    assert mystery == sum(r["Model"] == "mystery-model" for r in chats)
    assert all(p["cost_usd"] is None for p in keys["mystery-model"]["points"])

    writer = _get(client, "/metrics/tokens/series", resolution="1d", start=start, agent="Writer")
    n = sum(p["calls"] for s in writer["series"] for p in s["points"])
    assert n == sum(r["AgentName"] == "Writer" for r in chats)


def test_execution_series_and_success_rate(client: TestClient, seeded: Seeded) -> None:
    start = seeded.now - timedelta(days=30)
    body = _get(client, "/metrics/executions/series", resolution="1d", start=start.isoformat())
    series = {s["agent"]: s["points"] for s in body["series"]}
    assert set(series) == set(AGENTS)
    for agent in AGENTS:
        specs = seeded.tasks(agent)
        pts = series[agent]
        assert sum(p["executions"] for p in pts) == len(specs)
        assert sum(p["failed"] for p in pts) == sum(s.failed for s in specs)
        for p in pts:
            assert p["success_rate"] == pytest.approx(100.0 * p["successful"] / p["executions"])

    rates = {
        a["agent"]: a for a in _get(client, "/metrics/success-rate", time_range="30d")["agents"]
    }
    for agent in AGENTS:
        specs = seeded.tasks(agent, since=seeded.now - timedelta(days=30))
        ok = sum(not s.failed for s in specs)
        assert rates[agent]["executions"] == len(specs)
        assert rates[agent]["success_ratio"] == pytest.approx(ok / len(specs))
        assert rates[agent]["success_rate"] == pytest.approx(100.0 * ok / len(specs))
    crew = _get(client, "/metrics/success-rate", time_range="30d", crew="research_crew")
    assert sum(a["executions"] for a in crew["agents"]) == sum(
        len(specs) for c, s, specs in seeded.run_specs if c == "research_crew"
    )


@pytest.mark.parametrize(
    "path,params",
    [
        ("/metrics/tokens/series", {"resolution": "7s"}),
        ("/metrics/tokens/series", {"group_by": "tool"}),
        ("/metrics/tokens/series", {"start": "2020-01-01T00:00:00Z", "resolution": "10s"}),
        ("/metrics/executions/series", {"start": "2030-01-01T00:00:00Z"}),
        ("/metrics/executions/series", {"start": "yesterday"}),
        ("/metrics/process/series", {"pid": -1}),
        (
            "/metrics/process/series",
            {"start": "2030-01-02T00:00:00Z", "end": "2030-01-01T00:00:00Z"},
        ),
        ("/metrics/process", {"time_range": "2d"}),
        ("/metrics/success-rate", {"time_range": "1y"}),
    ],
)
def test_bad_parameters_422(client: TestClient, path: str, params: dict[str, Any]) -> None:
    assert client.get(API + path, params=params).status_code == 422


def test_empty_database(tmp_path: Path) -> None:
    app = create_app(str(tmp_path / "empty.duckdb"), rollup_interval_s=0, retention_days=None)
    with TestClient(app) as c:
        assert _get(c, "/metrics/process")["processes"] == []
        assert _get(c, "/metrics/process/series", resolution="10s")["series"] == []
        assert _get(c, "/metrics/tokens/series", group_by="agent")["series"] == []
        assert _get(c, "/metrics/executions/series", resolution="5m")["series"] == []
        assert _get(c, "/metrics/success-rate")["agents"] == []


def test_process_stats_of_a_real_child(tmp_path: Path, burner: Any) -> None:
    """A child that holds 96 MiB and spins a CPU: the DuckDB exporter stores its stats and the
    API reads them back (latest sample, and CPU as a rate of cumulative process.cpu.time)."""
    db = str(tmp_path / "proc.duckdb")
    child = burner(mb=96, seconds=60)
    exporter = DuckDBMetricExporter(db)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "burner-host"})
    )
    stats = ProcessMetrics(
        provider.get_meter("test"),
        include_self=False,
    )
    assert stats.watch(child.pid, {"crewai.crew.name": "busy_crew", "gen_ai.agent.name": "Burner"})
    watched = psutil.Process(child.pid)  # an independent reading to compare against
    cpu_before, t_before = sum(watched.cpu_times()[:2]), time.monotonic()
    for _ in range(6):
        time.sleep(0.5)
        provider.force_flush()
    observed_rate = (sum(watched.cpu_times()[:2]) - cpu_before) / (time.monotonic() - t_before)
    stats.stop()
    provider.shutdown()

    app = create_app(db, rollup_interval_s=0, retention_days=None, self_telemetry=False)
    with TestClient(app) as c:
        [proc] = _get(c, "/metrics/process", pid=child.pid)["processes"]
        assert proc["service"] == "burner-host" and proc["pid"] == child.pid
        assert proc["crew"] == "busy_crew" and proc["agent"] == "Burner"
        assert proc["memory_usage_bytes"] > 96 * 2**20
        assert proc["memory_mb"] == pytest.approx(proc["memory_usage_bytes"] / 2**20)
        assert proc["threads"] >= 1 and proc["file_descriptors"] >= 3
        assert proc["cpu_time_s"] > 0.5
        assert proc["cpu_percent"] == pytest.approx(proc["cpu_utilization"] * 100)
        start = (utcnow() - timedelta(minutes=5)).isoformat()
        body = _get(c, "/metrics/process/series", resolution="10s", start=start, pid=child.pid)
        [series] = body["series"]
        assert series["agent"] == "Burner"
        pts = series["points"]
        assert sum(p["samples"] for p in pts) >= 6  # + one at shutdown
        rates = [p["cpu_cores"] for p in pts if p["cpu_cores"] is not None]
        # CPU as a rate of cumulative cpu time agrees with psutil's own reading of the child
        # (the share of a core it gets depends on the machine's load)
        assert rates and observed_rate > 0.05, (rates, observed_rate)
        assert all(abs(r - observed_rate) < max(0.25, 0.5 * observed_rate) for r in rates), (
            rates,
            observed_rate,
        )
        assert all(p["memory_usage_max"] > 96 * 2**20 for p in pts)
        assert _get(c, "/metrics/process", service="nope")["processes"] == []
