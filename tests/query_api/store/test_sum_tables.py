"""The sum tables hold the same sums whether merged key by key or by the bulk upsert."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from crewscope.query_api.store import sum_tables
from crewscope.query_api.store.database import Database
from crewscope.query_api.store.sum_tables import SUM_TABLES
from tests.helpers.spans import (
    TaskSpec,
    build_run,
    insert_spans,
    new_db,
    trace_hex,
    with_span_id,
)

START = datetime(2026, 5, 4, 9, 50)


def _runs(seed: int = 5) -> list[list[ReadableSpan]]:
    rng = random.Random(seed)
    runs = []
    for i in range(30):
        tasks = [
            TaskSpec(rng.choice(["Ann", "Ben"]), "t", rng.uniform(50, 900), failed=i % 7 == 0,
                     cost=rng.choice([0.002, None]), input_tokens=rng.randint(5, 50))
            for _ in range(2)
        ]  # fmt: skip
        start = START + timedelta(minutes=rng.uniform(0, 30))  # around the 10:00 edge
        runs.append(build_run(rng, f"crew{i % 3}", start, tasks).spans)
    return runs


def _tables(database: Database) -> dict[str, list[tuple]]:
    with database.session(), database.store.cursor() as cur:
        return {
            t: sorted(cur.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in {s.table for s in SUM_TABLES}
        }


def test_point_updates_equal_bulk_upsert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _runs()
    bulk_path, point_path = str(tmp_path / "bulk.duckdb"), str(tmp_path / "point.duckdb")
    monkeypatch.setattr(sum_tables, "POINT_UPDATE_MAX_KEYS", 0)  # always the bulk upsert
    with new_db(bulk_path) as store:
        insert_spans(store, [span for run in runs for span in run])
    bulk = Database(bulk_path)  # one sync of everything

    monkeypatch.setattr(sum_tables, "POINT_UPDATE_MAX_KEYS", 10**9)  # never the bulk upsert
    with new_db(point_path):
        pass
    point = Database(point_path)
    # one run per sync, spans in reverse order (children before their crew span), plus a
    # late span for a trace that was already summed
    for run in runs:
        with point.session(), point.store.cursor() as cur:
            insert_spans(cur, run[::-1])
    late = with_span_id(runs[0][-1], 0xFFFFFFFFFFFFFFFF)
    with point.session(), point.store.cursor() as cur:
        insert_spans(cur, [late])
    monkeypatch.setattr(sum_tables, "POINT_UPDATE_MAX_KEYS", 0)
    with bulk.session(), bulk.store.cursor() as cur:
        insert_spans(cur, [late])
    a, b = _tables(bulk), _tables(point)
    assert a.keys() == b.keys()
    for table in a:
        assert len(a[table]) == len(b[table]) > 0
        for row_a, row_b in zip(a[table], b[table], strict=True):
            for x, y in zip(row_a, row_b, strict=True):  # float sums differ in order only
                assert x == (pytest.approx(y) if isinstance(y, float) else y), table
    totals = dict((r[0], r) for r in a["crewscope_run_totals"])  # spans naming no run: per trace
    trace = trace_hex(runs[0][0])
    assert totals[trace][1] == len(runs[0]) + 1  # Spans, the late one included
    bulk.close(), point.close()
