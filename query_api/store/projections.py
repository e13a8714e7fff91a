"""Keeps the projection tables (runs, tasks, trace totals, usage, hourly sums) in step
with otel_traces.

Runs, tasks and the usage tables are pure projections of single spans; trace totals and
the hourly tables are sums, added to per synced span (see sql/tables.sql). New spans are
found by rowid: DuckDB gives appended rows increasing rowids and a reader's snapshot always sees
a rowid prefix of committed appends, so "rowid >= watermark" is exactly what is new. Rowids
are renumbered only when a checkpoint vacuums deleted rows, which happens after retention;
`verify` detects that (the number of rows below the watermark no longer matches the number
copied) and rebuilds, and retention rebuilds explicitly.
"""

from __future__ import annotations

import logging
import threading
import time

import duckdb

from crewscope.query_api.store.sql import LLM_OPERATIONS, load_sql, range_params
from crewscope.query_api.store.sum_tables import SUM_TABLES

logger = logging.getLogger(__name__)

MEMORY_SPAN = "memory span"  # a span named "memory <op>" (project_memory_ops.sql)
PROJECTION_FILES = {
    "projections/runs.sql": frozenset({"invoke_workflow"}),
    "projections/tasks.sql": frozenset({"invoke_agent"}),
    "projections/llm_calls.sql": frozenset(LLM_OPERATIONS),
    "projections/tool_calls.sql": frozenset({"execute_tool"}),
    "projections/memory_ops.sql": frozenset({MEMORY_SPAN}),
}
"""Row projections (one row per span) and the span kinds each one copies: a sync skips the
ones the new spans hold none of (e.g. the server's own HTTP spans touch none of them).
The sum tables are merged by `SUM_TABLES`."""
NEW_SPANS = (  # how many new spans, and which kinds (to skip projections they don't feed)
    'SELECT count(*), list(DISTINCT "GenAiOperation") FILTER (WHERE "GenAiOperation" IS NOT NULL), '
    "bool_or(starts_with(\"SpanName\", 'memory ')) FROM otel_traces WHERE rowid BETWEEN ? AND ?"
)
PROJECTION_TABLES = (
    "crewscope_runs", "crewscope_tasks", "crewscope_trace_totals",
    "crewscope_llm_calls", "crewscope_tool_calls", "crewscope_memory_ops",
    "crewscope_agent_hourly", "crewscope_crew_hourly",
)  # allowlist  # fmt: skip
NEXT_ROWID_KEY = "projection_next_rowid"
ROWS_SEEN_KEY = "projection_rows_seen"
VERSION_KEY = "projection_version"
PROJECTION_VERSION = "3"
"""Bumped when a projection table is added or changed: `verify` then rebuilds them all."""

MAX_NEW_ROWID = "SELECT max(rowid) FROM otel_traces WHERE rowid >= ?"
COUNT_BELOW = "SELECT count(*) FROM otel_traces WHERE rowid < ?"
READ_META = 'SELECT "Value" FROM crewscope_meta WHERE "Key" = ?'
READ_WATERMARK = (
    'SELECT max("Value") FILTER (WHERE "Key" = ?), max("Value") FILTER (WHERE "Key" = ?) '
    "FROM crewscope_meta"
)
WRITE_META = "INSERT OR REPLACE INTO crewscope_meta VALUES (?, ?)"
WRITE_WATERMARK = "INSERT OR REPLACE INTO crewscope_meta VALUES (?, ?), (?, ?)"


def read_meta(cur: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = cur.execute(READ_META, [key]).fetchone()
    return None if row is None else str(row[0])


def write_meta(cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    cur.execute(WRITE_META, [key, value])


class Projections:
    """Incremental copy of new run / task spans; thread-safe, one instance per database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last_sync: float | None = None
        self.last_error: str | None = None

    def sync(self, cur: duckdb.DuckDBPyConnection) -> int:
        """Copy spans appended since the last call; returns how many rows were examined."""
        with self._lock:
            try:
                n = self._sync(cur)
            except duckdb.Error as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("projection sync failed: %s", exc, exc_info=True)
                return 0
            self.last_sync = time.time()
            self.last_error = None
            return n

    def _sync(self, cur: duckdb.DuckDBPyConnection) -> int:
        # Runs before every query: one read of the watermark, one rowid probe, and a
        # transaction only when spans were appended since the last sync.
        nxt, seen_s = cur.execute(READ_WATERMARK, [NEXT_ROWID_KEY, ROWS_SEEN_KEY]).fetchone() or (
            None,
            None,
        )
        lo, seen = int(nxt or 0), int(seen_s or 0)
        row = cur.execute(MAX_NEW_ROWID, [lo]).fetchone()
        if row is None or row[0] is None:
            return 0
        cur.begin()
        try:
            n = self._copy(cur, lo, seen)
            cur.commit()
        except BaseException:
            cur.rollback()
            raise
        return n

    @staticmethod
    def _copy(cur: duckdb.DuckDBPyConnection, lo: int, seen: int) -> int:
        """Inside the caller's transaction: copy rowids >= lo and move the watermark."""
        row = cur.execute(MAX_NEW_ROWID, [lo]).fetchone()
        hi = None if row is None else row[0]
        if hi is None:
            return 0
        n, ops, memory = cur.execute(NEW_SPANS, [lo, hi]).fetchone() or (0, None, None)
        kinds = set(ops or ()) | ({MEMORY_SPAN} if memory else set())
        for name, reads in PROJECTION_FILES.items():
            if reads & kinds:
                sql = load_sql(name)
                cur.execute(sql, range_params(sql, lo, hi))
        for sums in SUM_TABLES:
            if sums.reads is None or sums.reads & kinds:
                sums.add(cur, lo, hi)
        cur.execute(
            WRITE_WATERMARK, [NEXT_ROWID_KEY, str(hi + 1), ROWS_SEEN_KEY, str(seen + int(n))]
        )
        return int(n)

    def rebuild(self, cur: duckdb.DuckDBPyConnection) -> int:
        """Empty the projections and copy every span again, in one transaction."""
        with self._lock:
            cur.begin()
            try:
                for table in PROJECTION_TABLES:
                    cur.execute(f"DELETE FROM {table}")
                n = self._copy(cur, 0, 0)
                if n == 0:
                    write_meta(cur, NEXT_ROWID_KEY, "0")
                    write_meta(cur, ROWS_SEEN_KEY, "0")
                write_meta(cur, VERSION_KEY, PROJECTION_VERSION)
                cur.commit()
            except BaseException:
                cur.rollback()
                raise
            self.last_sync = time.time()
            return n

    def verify(self, cur: duckdb.DuckDBPyConnection) -> bool:
        """Rebuild if rowids moved under the watermark or the projection tables changed
        (`PROJECTION_VERSION`); True when nothing had to be done."""
        with self._lock:
            version = read_meta(cur, VERSION_KEY)
        if version != PROJECTION_VERSION:
            logger.info("projection tables changed (version %s): rebuilding", version)
            self.rebuild(cur)
            return False
        with self._lock:
            nxt = int(read_meta(cur, NEXT_ROWID_KEY) or 0)
            seen = int(read_meta(cur, ROWS_SEEN_KEY) or 0)
            (below,) = cur.execute(COUNT_BELOW, [nxt]).fetchone() or (0,)
        if int(below) == seen:
            return True
        logger.info(
            "span rowids changed (%s rows below watermark, %s copied): rebuilding", below, seen
        )
        self.rebuild(cur)
        return False
