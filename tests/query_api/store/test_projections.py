"""Projections follow inserts (also out of order) and rebuild when rowids move."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crewscope.query_api.dates import utcnow
from crewscope.query_api.store.database import Database
from tests.helpers.seed import seed_database
from tests.helpers.served import API
from tests.helpers.spans import TaskSpec, build_run, insert_spans


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
    chat_spans = [s for s in run.spans if s.name.startswith("chat ")]
    db = client.app.state.db  # type: ignore[attr-defined]
    with (
        db.reader(),
        db.store.cursor() as cur,
    ):  # the run first, its LLM call later (out of order)
        insert_spans(cur, [s for s in run.spans if s not in chat_spans])
    body = client.get(f"{API}/runs?crew=late_crew").json()
    assert body["total"] == 1 and body["runs"][0]["cost_usd"] is None
    with db.store.cursor() as cur:
        insert_spans(cur, chat_spans)
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
