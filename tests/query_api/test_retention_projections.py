"""Retention keeps rollups; projections follow inserts and rebuild after deletes; empty db."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crewscope.query_api.dates import utcnow
from crewscope.query_api.jobs.retention import cleanup
from crewscope.query_api.store.database import Database
from tests.query_api.conftest import API, new_db, seed_database
from tests.query_api.spangen import TaskSpec, build_run, insert_spans


def _old_and_new(path: str) -> None:
    now = utcnow()
    rng = random.Random(11)
    rows = []
    for days_ago in (60, 45, 40, 3, 1):
        spec = TaskSpec("Keeper", "t", 100.0 + days_ago)
        rows += build_run(rng, "ret_crew", now - timedelta(days=days_ago), [spec]).rows
    with new_db(path) as con:
        insert_spans(con, rows)


def test_cleanup_deletes_spans_keeps_rollups(tmp_path: Path) -> None:
    path = str(tmp_path / "ret.duckdb")
    _old_and_new(path)
    db = Database(path)
    try:
        with db.reader() as s, db.store.cursor() as cur:
            dry = cleanup(s, db.projections, 30, dry_run=True)
            assert dry.deleted["otel_traces"] > 0
            assert cur.execute("SELECT count(*) FROM crewscope_runs").fetchone() == (5,)
            result = cleanup(s, db.projections, 30)
            assert result.deleted == dry.deleted
            runs = cur.execute("SELECT count(*) FROM crewscope_runs").fetchone()
            assert runs == (2,)  # projections rebuilt after the delete
            old = cur.execute(
                'SELECT count(*) FROM otel_traces WHERE "Timestamp" < ?', [result.cutoff]
            ).fetchone()
            assert old == (0,)
            days = cur.execute(
                'SELECT count(*) FROM crewscope_rollup_agent_daily WHERE "Day" < ?',
                [result.cutoff.date()],
            ).fetchone()
            assert days == (3,)  # the three old days survive as rollups
        # a later full refresh must not wipe the frozen days
        from crewscope.query_api.jobs.rollups import refresh_rollups

        with db.reader() as s, db.store.cursor() as cur:
            refresh_rollups(s)
            total = cur.execute('SELECT sum("Executions") FROM crewscope_rollup_agent_daily')
            assert total.fetchone() == (5,)
    finally:
        db.close()


def test_aggregated_metrics_survive_retention(
    tmp_path: Path, make_client: Callable[[str], TestClient]
) -> None:
    path = str(tmp_path / "ret2.duckdb")
    _old_and_new(path)
    client = make_client(path)
    client.post(f"{API}/rollups/refresh")
    db = client.app.state.db  # type: ignore[attr-defined]
    with db.reader() as s:
        cleanup(s, db.projections, 30)
    url = f"{API}/agents/Keeper/metrics?time_range=90d"
    assert client.get(url).json()["total_executions"] == 2
    assert client.get(url + "&metric_type=aggregated").json()["total_executions"] == 5
    assert client.get(f"{API}/runs").json()["total"] == 2


def test_projections_follow_inserts(
    tmp_path: Path, make_client: Callable[[str], TestClient]
) -> None:
    path = str(tmp_path / "live.duckdb")
    seed_database(path, utcnow(), n_runs=3)
    client = make_client(path)
    assert client.get(f"{API}/runs").json()["total"] == 3
    run = build_run(random.Random(5), "late_crew", utcnow() - timedelta(minutes=5),
                    [TaskSpec("Late", "t", 50.0)])  # fmt: skip
    chats = [r for r in run.rows if r.get("GenAiOperation") == "chat"]
    db = client.app.state.db  # type: ignore[attr-defined]
    with (
        db.reader(),
        db.store.cursor() as cur,
    ):  # the run first, its LLM call later (out of order)
        insert_spans(cur, [r for r in run.rows if r not in chats])
    body = client.get(f"{API}/runs?crew=late_crew").json()
    assert body["total"] == 1 and body["runs"][0]["cost_usd"] is None
    with db.store.cursor() as cur:
        insert_spans(cur, chats)
    again = client.get(f"{API}/runs/{run.trace_id}").json()
    assert again["cost_usd"] == pytest.approx(0.001 * len(chats))
    assert again["counts"]["llm_calls"] == len(chats) == 2
    assert client.get(f"{API}/tasks?agent=Late").json()["total"] == 1


def test_verify_rebuilds_when_rowids_move(tmp_path: Path) -> None:
    path = str(tmp_path / "verify.duckdb")
    seed_database(path, utcnow(), n_runs=4)
    db = Database(path)
    try:
        with db.reader() as s, db.store.cursor() as cur:
            assert db.projections.verify(s) is True
            cur.execute("DELETE FROM otel_traces WHERE \"GenAiOperation\" = 'invoke_workflow'")
            assert db.projections.verify(s) is False  # counts no longer match: rebuilt
            assert cur.execute("SELECT count(*) FROM crewscope_runs").fetchone() == (0,)
            assert db.projections.verify(s) is True
    finally:
        db.close()


def test_empty_database_gives_empty_results(
    tmp_path: Path, make_client: Callable[[str], TestClient]
) -> None:
    client = make_client(str(tmp_path / "empty.duckdb"))
    for url in (
        "/runs", "/tasks", "/agents", "/rollups/daily", "/dashboard", "/tools", "/llm",
        "/memory/stats", "/endpoints", "/system/health", "/export/runs", "/export/tasks?format=json",
    ):  # fmt: skip
        r = client.get(API + url)
        assert r.status_code == 200, url
    assert client.get(f"{API}/runs").json()["runs"] == []
    assert client.get(f"{API}/agents").json()["agents"] == []
    assert client.get(f"{API}/export/tasks?format=json").json() == []
    assert client.post(f"{API}/rollups/refresh").status_code == 200
    assert client.get("/dashboard").status_code == 200
    assert client.get(f"{API}/agents/x/metrics").status_code == 404
