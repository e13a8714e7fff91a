"""Retention deletes old spans and keeps their days as rollups."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from crewscope.query_api.dates import utcnow
from crewscope.query_api.jobs.retention import cleanup
from crewscope.query_api.store.database import Database
from tests.helpers.served import API
from tests.helpers.spans import TaskSpec, build_run, insert_spans, new_db


def _old_and_new(path: str) -> None:
    now = utcnow()
    rng = random.Random(11)
    spans = []
    for days_ago in (60, 45, 40, 3, 1):
        spec = TaskSpec("Keeper", "t", 100.0 + days_ago)
        spans += build_run(rng, "ret_crew", now - timedelta(days=days_ago), [spec]).spans
    with new_db(path) as store:
        insert_spans(store, spans)


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
