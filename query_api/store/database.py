"""The query API's handle on the crewscope DuckDB file.

The server process owns the file read-write (DuckDB allows one such process); every request
gets its own cursor. Opening goes through the exporter's `SpanStore`, so the OTLP receiver
can share the same store (pass it as ``store=``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from crewscope.exporter import SpanStore
from crewscope.query_api.store.projections import Projections
from crewscope.query_api.store.sql import load_sql

logger = logging.getLogger(__name__)


CREWSCOPE_DUCKDB_MEMORY_LIMIT = "CREWSCOPE_DUCKDB_MEMORY_LIMIT"
"""DuckDB's buffer-cache limit for the server (default 512MB; DuckDB's own default is 80% of RAM,
which lets a long-running ingest server's memory grow with the file)."""


def open_store(db_path: str) -> SpanStore:
    """Open (creating if needed) the database file with the otel_traces schema."""
    limit = os.environ.get(CREWSCOPE_DUCKDB_MEMORY_LIMIT, "512MB")
    return SpanStore(db_path, config={"memory_limit": limit} if limit else None)


class Database:
    """Cursors on one SpanStore plus the projection tables the queries read."""

    def __init__(self, db_path: str, *, store: SpanStore | None = None) -> None:
        self.path = db_path
        self._owns_store = store is None
        self.store = store if store is not None else open_store(db_path)
        self.projections = Projections()
        with self.store.cursor() as cur:
            cur.execute(load_sql("tables.sql"))
            self.projections.verify(cur)
            self.projections.sync(cur)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor (one per thread / request); the caller closes it."""
        return self.store.cursor()

    @contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor whose projections include every span committed so far."""
        cur = self.cursor()
        try:
            self.projections.sync(cur)
            yield cur
        finally:
            cur.close()

    def close(self) -> None:
        if self._owns_store:
            self.store.close()
