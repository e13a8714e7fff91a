"""Windowed totals read whole hours from the hourly sums and the edges from the projections.

Runs are spread over three days around hour boundaries and inserted in shuffled order in
two batches (the second adds to hours the first sync already summed, like late spans), then
the dashboard totals, agent summaries and realtime agent metrics at a `now` in the middle
of an hour are compared with the same figures computed from the spans in Python.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from crewscope.query_api.models.common import MetricType, TimeRange
from crewscope.query_api.queries.agents import agent_metrics, agent_summaries
from crewscope.query_api.queries.dashboard import dashboard
from crewscope.query_api.store.database import Database
from crewscope.query_api.store.windows import ceil_hour, floor_hour, hour_split
from tests.helpers.spans import TaskSpec, build_run, insert_spans, new_db

NOW = datetime(2026, 3, 10, 12, 37, 21, 500_000)
AGENTS = ("Ada", "Bob", "Cy")


@pytest.fixture(scope="module")
def db(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, list]]:
    rng = random.Random(11)
    runs, specs = [], []
    # starts hug the window edges: just before/after NOW - 1 day and the hour of NOW
    anchors = [NOW - timedelta(days=1), floor_hour(NOW), ceil_hour(NOW - timedelta(days=1))]
    for i in range(240):
        if i % 3 == 0:
            start = rng.choice(anchors) + timedelta(seconds=rng.uniform(-900, 900))
        else:
            start = NOW - timedelta(seconds=rng.uniform(-1800, 3 * 86400))  # a few in the future
        tasks = [
            TaskSpec(
                rng.choice(AGENTS), "t", rng.uniform(100, 5000), failed=rng.random() < 0.2,
                tool=None, steps=rng.randint(1, 2), input_tokens=rng.randint(10, 99),
                cost=rng.choice([0.001, 0.002, None]),
            )
            for _ in range(rng.randint(1, 3))
        ]  # fmt: skip
        runs.append(build_run(rng, f"crew{i % 2}", start, tasks))
        specs.append((start, tasks, runs[-1]))
    rng.shuffle(specs)
    path = str(Path(tmp_path_factory.mktemp("hourly")) / "h.duckdb")
    half = len(specs) // 2
    with new_db(path) as store:
        insert_spans(store, [span for _, _, run in specs[:half] for span in run.spans])
    database = Database(path)  # syncs the first half
    with database.session(), database.store.cursor() as cur:
        insert_spans(cur, [span for _, _, run in specs[half:] for span in run.spans])
    with database.session() as session:  # adds the second half to hours already summed
        yield session, specs
    database.close()


def _spans(specs: list, op: str, lo: datetime, hi: datetime, agent: str | None = None) -> list:
    """The generated spans of operation `op` started in [lo, hi] (of one agent)."""
    return [
        r
        for _, _, run in specs
        for r in run.rows
        if r.get("GenAiOperation") == op
        and lo <= r["Timestamp"] <= hi
        and (agent is None or r["AgentName"] == agent)
    ]


def _tasks(specs: list, lo: datetime, hi: datetime, agent: str | None = None) -> list:
    return _spans(specs, "invoke_agent", lo, hi, agent)


def _chats(specs: list, lo: datetime, hi: datetime, agent: str | None = None) -> list:
    return _spans(specs, "chat", lo, hi, agent)


def test_hour_split() -> None:
    assert hour_split(NOW - timedelta(days=1), NOW) == (
        datetime(2026, 3, 9, 13),
        datetime(2026, 3, 10, 12),
    )
    on_hour = datetime(2026, 3, 10, 12)
    assert hour_split(on_hour - timedelta(days=1), on_hour)[0] == on_hour - timedelta(days=1)
    inside = hour_split(NOW - timedelta(minutes=10), NOW)  # no whole hour: all raw
    assert inside == (NOW - timedelta(minutes=10),) * 2


def test_dashboard_totals_equal_spans(db: tuple) -> None:
    con, specs = db
    body = dashboard(con, now=NOW)
    for totals, days in zip(body.totals, (1, 7, 30), strict=True):
        lo = NOW - timedelta(days=days)
        tasks = _tasks(specs, lo, NOW)
        crews = _spans(specs, "invoke_workflow", lo, NOW)
        assert totals.runs == len(crews) > 0
        assert totals.failed_runs == sum(r["StatusCode"] == "Error" for r in crews)
        assert totals.input_tokens == sum(r["InputTokens"] or 0 for r in crews)
        assert totals.executions == len(tasks)
        assert totals.failed_executions == sum(r["StatusCode"] == "Error" for r in tasks)
        assert totals.avg_execution_ms == pytest.approx(
            np.mean([r["Duration"] / 1e6 for r in tasks])
        )
        costs = [r["CostUsd"] for r in _chats(specs, lo, NOW) if r["CostUsd"] is not None]
        assert totals.cost_usd == pytest.approx(sum(costs))
    trend = body.executions_trend
    since = (NOW - timedelta(days=29)).replace(hour=0, minute=0, second=0, microsecond=0)
    future = [r for r in _tasks(specs, since, NOW + timedelta(days=1))]
    assert sum(p.executions for p in trend) == len(future)  # the trend has no upper bound


def test_agent_figures_equal_spans(db: tuple) -> None:
    con, specs = db
    lo = NOW - timedelta(days=1)
    summaries = {a.agent: a for a in agent_summaries(con, lo, NOW)}
    assert set(summaries) == set(AGENTS)
    for agent in AGENTS:
        tasks = _tasks(specs, lo, NOW, agent)
        d = np.array([r["Duration"] / 1e6 for r in tasks])
        s = summaries[agent]
        assert s.total_executions == len(tasks) > 0
        assert s.avg_ms == pytest.approx(d.mean())
        assert s.p95_ms == pytest.approx(np.percentile(d, 95))
        m = agent_metrics(con, agent, TimeRange("1d"), MetricType.REALTIME, now=NOW)
        assert m.total_executions == len(tasks)
        assert m.failed_executions == sum(r["StatusCode"] == "Error" for r in tasks)
        assert m.execution_times.min_ms == pytest.approx(d.min())
        assert m.execution_times.max_ms == pytest.approx(d.max())
        assert m.execution_times.p99_ms == pytest.approx(np.percentile(d, 99))
        assert m.input_tokens == sum(r["InputTokens"] for r in tasks)
        costs = [r["CostUsd"] for r in _chats(specs, lo, NOW, agent) if r["CostUsd"] is not None]
        assert m.cost_usd == pytest.approx(sum(costs))
        all_time = max(r["Timestamp"] for r in _tasks(specs, datetime.min, datetime.max, agent))
        assert s.last_execution is not None
        assert s.last_execution.replace(tzinfo=None) == all_time
