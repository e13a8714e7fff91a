"""Keeps the projection tables (runs, tasks, trace totals, usage, hourly sums) in step
with otel_traces.

Runs, tasks and the usage tables are projections of single spans (another instrumentation's
call or task without an agent or crew takes its enclosing spans', also ones synced later,
in the projections and in otel_traces: `late_agents`); trace totals and the
hourly tables are sums, added to per synced span (see sql/tables.sql). New spans are
found by rowid (`rowids`). Rowids are renumbered only when a checkpoint vacuums deleted rows,
which happens after retention; `verify` detects that (the number of rows below the watermark
no longer matches the number copied) and rebuilds, and retention rebuilds explicitly.
"""

from __future__ import annotations

import logging
import threading
import time

from crewscope.exporter.operations import LLM_OPERATIONS
from crewscope.query_api.store.late_agents import WINDOW_HAS_ORPHANS, fill_late_agents
from crewscope.query_api.store.meta import read_meta, write_meta
from crewscope.query_api.store.query import Ident, inline, named
from crewscope.query_api.store.rowids import newest_rowid, rows_below
from crewscope.query_api.store.session import EngineError, Session
from crewscope.query_api.store.sum_tables import SUM_TABLES, range_params

logger = logging.getLogger(__name__)

MEMORY_SPAN = "memory span"  # a span named "memory <op>" (projections/memory_ops.sql)
PROJECTION_QUERIES = {
    "projections/runs": frozenset({"invoke_workflow", "invoke_agent"}),
    "projections/tasks": frozenset({"invoke_agent"}),
    "projections/llm_calls": frozenset(LLM_OPERATIONS),
    "projections/tool_calls": frozenset({"execute_tool"}),
    "projections/memory_ops": frozenset({MEMORY_SPAN}),
}
"""Row projections (one row per span) and the span kinds each one copies: a sync skips the
ones the new spans hold none of (e.g. the server's own HTTP spans touch none of them).
The sum tables are merged by `SUM_TABLES`."""
NEW_SPANS = inline(  # how many new spans, which kinds (to skip projections they don't feed)
    "new_spans",  # and whether it holds spans missing an agent or crew (`fill_late_agents`)
    'SELECT count(*), list(DISTINCT "GenAiOperation") FILTER (WHERE "GenAiOperation" IS NOT NULL), '
    f"bool_or(starts_with(\"SpanName\", 'memory ')), {WINDOW_HAS_ORPHANS} "
    "FROM otel_traces WHERE rowid BETWEEN $lo AND $hi",
)
DELETE_ALL = inline("delete_all", "DELETE FROM {{table}}")
DROP_TABLE = inline("drop_table", "DROP TABLE IF EXISTS {{table}}")
PROJECTION_TABLES = (
    "crewscope_runs", "crewscope_tasks", "crewscope_run_totals",
    "crewscope_llm_calls", "crewscope_tool_calls", "crewscope_memory_ops",
    "crewscope_agent_hourly", "crewscope_run_hourly",
)  # allowlist  # fmt: skip
NEXT_ROWID_KEY = "projection_next_rowid"
ROWS_SEEN_KEY = "projection_rows_seen"
ORPHANS_KEY = "projection_calls_without_agent"
"""'1' once another instrumentation's LLM or tool call without an agent or crew, or task
without a crew, was synced: from then on each sync looks for their enclosing spans
(`fill_late_agents`); '0' (or absent) while none was."""
VERSION_KEY = "projection_version"
PROJECTION_VERSION = "6"
"""Bumped when a projection table is added or changed: `verify` then drops them all (and
the ones earlier versions had), creates them anew from ``tables.sql`` and rebuilds."""
RETIRED_TABLES = ("crewscope_trace_totals", "crewscope_crew_hourly")  # before version 4
# version 5: crewscope_llm_calls and crewscope_tool_calls keep their span's TraceId and SpanId
# (late_agents.py fills their agent from an enclosing span synced later)
# version 6: the late-context flag counts other instrumentations' spans only, and the late
# path also fills crews and the stored spans' typed columns

READ_WATERMARK = inline(
    "read_watermark",
    'SELECT max("Value") FILTER (WHERE "Key" = $next_key), '
    'max("Value") FILTER (WHERE "Key" = $seen_key), '
    'max("Value") FILTER (WHERE "Key" = $orphans_key) FROM crewscope_meta',
)
WRITE_WATERMARK = inline(
    "write_watermark",
    "INSERT OR REPLACE INTO crewscope_meta VALUES ($next_key, $next), ($seen_key, $seen), "
    "($orphans_key, $orphans)",
)
WATERMARK_KEYS = {"next_key": NEXT_ROWID_KEY, "seen_key": ROWS_SEEN_KEY, "orphans_key": ORPHANS_KEY}


class Projections:
    """Incremental copy of new run / task spans; thread-safe, one instance per database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last_sync: float | None = None
        self.last_error: str | None = None

    def sync(self, s: Session, *, wait_s: float | None = None) -> int:
        """Copy spans appended since the last call; returns how many rows were examined.

        A sync running elsewhere is waited for (at most `wait_s` seconds when given: then
        0 is returned, and the caller reads the projections as that sync leaves them so far,
        without the spans it is copying)."""
        if not self._lock.acquire(timeout=-1 if wait_s is None else wait_s):
            return 0
        try:
            try:
                n = self._sync(s)
            except EngineError as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("projection sync failed: %s", exc, exc_info=True)
                return 0
            self.last_sync = time.time()
            self.last_error = None
            return n
        finally:
            self._lock.release()

    def _sync(self, s: Session) -> int:
        # Runs before every query: one read of the watermark, one rowid probe, and a
        # transaction only when spans were appended since the last sync.
        nxt, seen_s, orphans = s.first(READ_WATERMARK, WATERMARK_KEYS) or (None, None, None)
        lo, seen = int(nxt or 0), int(seen_s or 0)
        if newest_rowid(s, "otel_traces", lo) is None:
            return 0
        with s.transaction():
            return self._copy(s, lo, seen, orphans=orphans == "1")

    @staticmethod
    def _copy(s: Session, lo: int, seen: int, *, orphans: bool) -> int:
        """Inside the caller's transaction: copy rowids >= lo and move the watermark
        (`orphans`: calls without an agent were synced before, see `ORPHANS_KEY`)."""
        hi = newest_rowid(s, "otel_traces", lo)
        if hi is None:
            return 0
        params = range_params(lo, hi)
        n, ops, memory, window_orphans = s.first(NEW_SPANS, params) or (0, None, None, None)
        kinds = set(ops or ()) | ({MEMORY_SPAN} if memory else set())
        for name, reads in PROJECTION_QUERIES.items():
            if reads & kinds:
                s.execute(named(name), params)
        for sums in SUM_TABLES:
            if sums.reads is None or sums.reads & kinds:
                sums.add(s, lo, hi)
        orphans = orphans or bool(window_orphans)
        if orphans:
            fill_late_agents(s, lo, hi)
        s.execute(
            WRITE_WATERMARK,
            {
                **WATERMARK_KEYS, "next": str(hi + 1), "seen": str(seen + int(n)),
                "orphans": "1" if orphans else "0",
            },
        )  # fmt: skip
        return int(n)

    def rebuild(self, s: Session) -> int:
        """Empty the projections and copy every span again, in one transaction."""
        with self._lock, s.transaction():
            for table in PROJECTION_TABLES:
                s.execute(DELETE_ALL, table=Ident(table))
            n = self._copy(s, 0, 0, orphans=False)
            if n == 0:
                write_meta(s, NEXT_ROWID_KEY, "0")
                write_meta(s, ROWS_SEEN_KEY, "0")
                write_meta(s, ORPHANS_KEY, "0")
            write_meta(s, VERSION_KEY, PROJECTION_VERSION)
        self.last_sync = time.time()
        return n

    def recreate(self, s: Session) -> int:
        """Drop the projection tables, create them as ``tables.sql`` defines them now and
        copy every span again (an existing database after the projections changed)."""
        with s.transaction():
            for table in (*PROJECTION_TABLES, *RETIRED_TABLES):
                s.execute(DROP_TABLE, table=Ident(table))
            s.execute(named("tables"))
        return self.rebuild(s)

    def verify(self, s: Session) -> bool:
        """Rebuild if rowids moved under the watermark or the projection tables changed
        (`PROJECTION_VERSION`); True when nothing had to be done."""
        with self._lock:
            version = read_meta(s, VERSION_KEY)
        if version != PROJECTION_VERSION:
            logger.info("projection tables changed (version %s): recreating them", version)
            self.recreate(s)
            return False
        with self._lock:
            nxt = int(read_meta(s, NEXT_ROWID_KEY) or 0)
            seen = int(read_meta(s, ROWS_SEEN_KEY) or 0)
            below = rows_below(s, "otel_traces", nxt)
        if below == seen:
            return True
        logger.info(
            "span rowids changed (%s rows below watermark, %s copied): rebuilding", below, seen
        )
        self.rebuild(s)
        return False
