"""The query API's handle on the crewscope database: sessions, projections, the file.

The server process owns the DuckDB file read-write (DuckDB allows one such process); every
request and job gets its own `Session` (one cursor). Opening goes through the exporter's
`SpanStore`, so the OTLP receiver can share the same store (pass it as ``store=``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from crewscope.exporter.store import SpanStore, is_lock_error
from crewscope.query_api.store.projections import Projections
from crewscope.query_api.store.query import named
from crewscope.query_api.store.rollup_tables import create_rollup_tables
from crewscope.query_api.store.session import DuckDBSession, SessionScopes

logger = logging.getLogger(__name__)

__all__ = ["CREWSCOPE_DUCKDB_MEMORY_LIMIT", "Database", "is_lock_error", "open_store"]

CLOSE_WAIT_S = 10.0
CREWSCOPE_DUCKDB_MEMORY_LIMIT = "CREWSCOPE_DUCKDB_MEMORY_LIMIT"
"""DuckDB's buffer-cache limit for the server (default 512MB; DuckDB's own default is 80% of RAM,
which lets a long-running ingest server's memory grow with the file)."""


CHECKPOINT_THRESHOLD = "64MB"
"""The write-ahead log's size at which DuckDB folds it into the file (its default: 16MB).
Queries arriving during a checkpoint wait for it; under sustained ingest, fewer and longer
checkpoints cut the slowest queries (95th percentile while the receiver sheds load: 9-25x
the unloaded latency with 16MB, 3.7-4.0x with 64MB; bench/README.md "Queries while the
receiver sheds"), and a restart replays at most this much log."""


def open_store(db_path: str) -> SpanStore:
    """Open (creating if needed) the database file with the otel_traces schema."""
    limit = os.environ.get(CREWSCOPE_DUCKDB_MEMORY_LIMIT, "512MB")
    config = {"checkpoint_threshold": CHECKPOINT_THRESHOLD}
    if limit:
        config["memory_limit"] = limit
    return SpanStore(db_path, config=config)


class Database(SessionScopes[DuckDBSession]):
    """Sessions on one SpanStore plus the projection tables the queries read."""

    def __init__(self, db_path: str, *, store: SpanStore | None = None) -> None:
        self.path = db_path
        self.engine = "duckdb"
        self._owns_store = store is None
        self.store = store if store is not None else open_store(db_path)
        self.projections = Projections()
        self._sessions = 0
        self._idle = threading.Condition()
        with self.reader() as s:
            s.execute(named("tables"))
            create_rollup_tables(s)
            self.projections.verify(s)
            self.projections.sync(s)

    @contextmanager
    def session(self, *, wait_s: float | None = None) -> Iterator[DuckDBSession]:
        """A session whose projections include every span committed so far; with `wait_s`,
        unless another session's sync is still running after that long (heavy ingest), or
        the receiver is shedding load (its projector thread syncs after each write): then
        the spans not yet synced are left out (the projections as of the last sync)."""
        reads = self.store.reads
        with reads.reading(), self.reader() as s:  # appends give way meanwhile
            if wait_s is None or not reads.shedding():
                self.projections.sync(s, wait_s=wait_s)
            yield s

    def sync_projections(self) -> int:
        """Bring the projections up to date now (waiting for a sync running elsewhere)."""
        with self.reader() as s:
            return self.projections.sync(s)

    def new_session(self) -> DuckDBSession:
        """A session of its own (one per thread / request); the caller closes it."""
        cursor = self.store.cursor()
        with self._idle:
            self._sessions += 1
        return DuckDBSession(cursor, on_close=self._session_closed)

    def _session_closed(self) -> None:
        with self._idle:
            self._sessions -= 1
            self._idle.notify_all()

    def close(self, wait_s: float = CLOSE_WAIT_S) -> None:
        """Close the file once the sessions still at work (a job or live-feed poll in a worker
        thread, an export being streamed) are done, or after `wait_s`."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._sessions == 0, wait_s):
                logger.warning("closing %s with %d sessions still open", self.path, self._sessions)
        if self._owns_store:
            self.store.close()
