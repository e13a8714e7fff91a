"""The same spans in both engines: a DuckDB file's ``otel_traces`` copied into ClickHouse.

The embedded ClickHouse engine (chDB) opens one data directory per process, so every test
in a process shares `chdb_dir()` and takes a database of its own (`chdb_store`).
"""

from __future__ import annotations

import itertools

import duckdb

from crewscope.query_api.store.clickhouse.database import ClickHouseDatabase
from crewscope.query_api.store.clickhouse.location import parse_store
from tests.helpers.chdb import chdb_dir

_COUNTER = itertools.count()


def chdb_store(name: str = "t") -> str:
    """A ``--store`` URL of a new, empty database in the process's chDB engine."""
    return f"chdb://{chdb_dir()}?database={name}_{next(_COUNTER)}"


def copy_spans(duckdb_path: str, store_url: str) -> int:
    """Write every span of a DuckDB file into the ClickHouse store as the receiver would."""
    con = duckdb.connect(duckdb_path, read_only=True)
    try:
        table = con.sql(
            "SELECT * EXCLUDE (rowid) FROM (SELECT *, rowid FROM otel_traces)"
        ).to_arrow_table()
    finally:
        con.close()
    db = ClickHouseDatabase(parse_store(store_url))
    try:
        db.store.append(table)
        with db.reader() as s:
            db.projections.sync(s, force=True)
    finally:
        db.close()
    return table.num_rows
