"""While the receiver sheds load, its writes give way to the query sessions in progress, for
a bounded time (`ReadsFirst`, `IngestQueue.give_way`); otherwise nothing waits."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from crewscope.exporter.receiver.ingest import SHEDDING_S, IngestQueue, span_writer
from crewscope.query_api.ops.health import ingest_queue_probe
from crewscope.query_api.store.database import Database
from crewscope.query_api.store.query import inline
from tests.helpers.spans import TaskSpec, build_run, to_table

COUNT = inline("count", "SELECT count(*) FROM otel_traces")
RUNS = inline("runs", "SELECT count(*) FROM crewscope_runs")


def _run_table(i: int) -> pa.Table:
    start = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5)
    run = build_run(random.Random(i), "crew", start, [TaskSpec("Writer", "write", 50.0)])
    return to_table(run.spans)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(str(tmp_path / "s.duckdb"))
    yield database
    database.close()


@pytest.fixture
def queue(db: Database) -> Iterator[IngestQueue]:
    q = IngestQueue(max_queued_spans=100)
    q.give_way = db.store.reads.wait_turn  # as the receiver sets them
    db.store.reads.shedding = lambda: q.shedding
    yield q
    q.close()


def _shed_once(queue: IngestQueue) -> None:
    """Make the queue refuse a request for real: fill it behind a write that is held."""
    held, release = threading.Event(), threading.Event()

    def blocking(_payloads: list[int]) -> None:
        held.set()
        release.wait(10)

    first = queue.submit(1, 90, blocking)
    assert first is not None and held.wait(10)
    assert queue.submit(2, 20, blocking) is None  # 90 + 20 > 100: refused
    release.set()
    first.result(10)
    assert queue.shedding


def test_a_write_while_shedding_waits_for_the_open_read(db: Database, queue: IngestQueue):
    _shed_once(queue)
    db.store.reads.max_wait_s = 30.0
    table = _run_table(1)
    with db.session():
        assert db.store.reads.reads == 1
        future = queue.submit(table, table.num_rows, span_writer(db.store.append))
        assert future is not None
        time.sleep(0.5)
        assert not future.done()  # giving way to this read
        closed = time.monotonic()
    assert future.result(10) == table.num_rows
    assert time.monotonic() - closed < 2.0  # went on as soon as the read ended
    assert db.store.reads.reads == 0 and db.store.reads.waits == 1
    with db.session() as s:
        assert s.scalar(COUNT) == table.num_rows


def test_a_write_waits_no_longer_than_the_bound(db: Database, queue: IngestQueue):
    _shed_once(queue)
    db.store.reads.max_wait_s = 0.3
    table = _run_table(2)
    with db.session():
        started = time.monotonic()
        future = queue.submit(table, table.num_rows, span_writer(db.store.append))
        assert future is not None
        assert future.result(10) == table.num_rows  # landed while the read stayed open
        assert 0.25 <= time.monotonic() - started < 3.0
    assert db.store.reads.waited_s >= 0.25


def test_no_wait_when_not_shedding(db: Database, queue: IngestQueue):
    db.store.reads.max_wait_s = 30.0
    assert not queue.shedding
    table = _run_table(3)
    with db.session():
        future = queue.submit(table, table.num_rows, span_writer(db.store.append))
        assert future is not None
        assert future.result(5) == table.num_rows
    db.store.append(_run_table(4))  # an in-app store's appends never wait either
    assert db.store.reads.waits == 0


def test_health_reports_shedding_refusals_and_yielded_writes(db: Database, queue: IngestQueue):
    probe = ingest_queue_probe(queue, db.store.reads)
    assert probe().status == "healthy" and probe().metrics["requests_refused"] == 0
    _shed_once(queue)
    db.store.reads.max_wait_s = 0.2
    table = _run_table(5)
    with db.session():
        future = queue.submit(table, table.num_rows, span_writer(db.store.append))
        assert future is not None and future.result(10) == table.num_rows
    status = probe()
    assert status.status == "degraded" and "1 requests refused" in status.details
    assert "shedding load" in status.details
    m = status.metrics
    assert (m["requests_refused"], m["dropped"], m["shedding"], m["writes_yielded"]) == (
        1,
        20,
        1,
        1,
    )
    assert float(m["yielded_s"] or 0) >= 0.15
    time.sleep(SHEDDING_S + 0.1)
    after = probe()  # no longer refusing: healthy again, the counts stay
    assert after.status == "healthy" and after.metrics["requests_refused"] == 1


def test_queries_leave_the_sync_to_the_projector_while_shedding(db: Database, queue: IngestQueue):
    _shed_once(queue)
    db.store.append(_run_table(6))  # committed; the projector (not running here) would sync
    with db.session(wait_s=0.05) as s:  # a list or aggregate query: may lag by one sync
        assert s.scalar(RUNS) == 0 and s.scalar(COUNT) > 0
    with db.session() as s:  # a query that must see every committed span still syncs
        assert s.scalar(RUNS) == 1
    db.store.append(_run_table(7))
    time.sleep(SHEDDING_S + 0.1)
    with db.session(wait_s=0.05) as s:  # no longer shedding: synced first again
        assert s.scalar(RUNS) == 2
