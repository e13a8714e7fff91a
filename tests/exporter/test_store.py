"""SpanStore: schema bootstrap, appends, cursors for other threads, read-only opens."""

from __future__ import annotations

import threading

import duckdb
import pytest

from crewscope.exporter import SpanStore
from crewscope.exporter.span_exporter import spans_to_table


def test_store_appends_and_serves_cursors_to_other_threads(db_path, make_spans):
    table, _ = spans_to_table(make_spans(10))
    with SpanStore(db_path) as store:
        store.append(table)
        store.append(table.slice(0, 0))  # empty batch: no-op
        counts = []

        def read():
            cur = store.cursor()
            counts.append(cur.execute("SELECT count(*) FROM otel_traces").fetchone()[0])
            cur.close()

        t = threading.Thread(target=read)
        t.start()
        t.join()
        assert counts == [10]
        store.checkpoint()
    assert store.closed
    store.close()  # idempotent
    with pytest.raises(duckdb.ConnectionException):
        store.append(table)


def test_read_only_store_reads_an_existing_file(db_path, make_spans):
    table, _ = spans_to_table(make_spans(3))
    with SpanStore(db_path) as store:
        store.append(table)
    with SpanStore(db_path, read_only=True) as ro:
        cur = ro.cursor()
        assert cur.execute(
            "SELECT count(*) FROM otel_traces WHERE \"ParentSpanId\" = ''"
        ).fetchone() == (1,)
        with pytest.raises(duckdb.Error):
            ro.append(table)


def test_bootstrap_is_idempotent(db_path):
    SpanStore(db_path).close()
    with SpanStore(db_path) as store:  # CREATE TABLE IF NOT EXISTS on an existing file
        cols = store.cursor().execute("SELECT count(*) FROM (DESCRIBE otel_traces)").fetchone()
    assert cols == (28,)
