"""Daily rollups per agent and per crew, refreshed idempotently.

A refresh recomputes whole UTC days: in one transaction per chunk of days it deletes the
rollup rows of those days and inserts them again from the projections, so re-running gives
the same rows and today's partial day is simply recomputed. Days before the retention
cutoff are frozen: their spans are gone, so their rollups are kept as they are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from crewscope.exporter.operations import LLM_OPERATIONS
from crewscope.query_api.dates import day_start, utcnow
from crewscope.query_api.store.meta import read_meta, write_meta
from crewscope.query_api.store.query import Ident, inline, named
from crewscope.query_api.store.rollup_tables import rollup_slots
from crewscope.query_api.store.session import Session

logger = logging.getLogger(__name__)

FROZEN_BEFORE_KEY = "rollups_frozen_before"
LAST_REFRESH_KEY = "rollups_last_refresh"
ROLLUP_TABLES = (  # fixed allowlist: (table, insert query)
    ("crewscope_rollup_agent_daily", "rollups/agent_daily"),
    ("crewscope_rollup_crew_daily", "rollups/crew_daily"),
    ("crewscope_rollup_agent_errors_daily", "rollups/agent_errors_daily"),
)
FIRST_DAY = named("rollups/first_day")
COUNT_DAYS = inline(
    "count_days", 'SELECT count(*) FROM {{table}} WHERE "Day" BETWEEN $first AND $last'
)
DELETE_DAYS = inline("delete_days", 'DELETE FROM {{table}} WHERE "Day" BETWEEN $first AND $last')
CHUNK_DAYS = 7
_REFRESHING = threading.Lock()
"""One refresh at a time in this process (the timer and POST /rollups/refresh, or two
clients): overlapping delete-and-insert transactions on the same days conflict in the engine.
Only one process can open a file for writing, so a process lock serialises them all."""


@dataclass
class RefreshResult:
    day_from: date | None
    day_to: date | None
    days: int
    agent_rows: int
    crew_rows: int
    seconds: float


def frozen_before(s: Session) -> date | None:
    value = read_meta(s, FROZEN_BEFORE_KEY)
    return date.fromisoformat(value) if value else None


def refresh_rollups(
    s: Session,
    day_from: date | None = None,
    day_to: date | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshResult:
    """Recompute the rollups of [day_from, day_to] (default: first day with data .. today).

    `progress(done_days, total_days)` is called after each committed chunk. A refresh that
    overlaps another waits for it (`_REFRESHING`).
    """
    with _REFRESHING:
        return _refresh(s, day_from, day_to, progress)


def derived_rollups(s: Session, day_from: date | None, day_to: date | None) -> RefreshResult:
    """What a refresh reports on an engine that derives the rollups itself as spans land
    (ClickHouse's materialized views): nothing to recompute, the rows of the range."""
    started = time.perf_counter()
    day_from = day_from or s.scalar(FIRST_DAY) or utcnow().date()
    day_to = day_to or utcnow().date()
    if day_to < day_from:
        return RefreshResult(None, None, 0, 0, 0, time.perf_counter() - started)
    params = {"date_from": day_from, "date_to": day_to, "name": None}
    rows = {
        group: int(s.scalar(named("reads/rollup_count"), params, **rollup_slots(group)) or 0)
        for group in ("agent", "crew")
    }
    days = (day_to - day_from).days + 1
    return RefreshResult(
        day_from, day_to, days, rows["agent"], rows["crew"], time.perf_counter() - started
    )


def _refresh(
    s: Session,
    day_from: date | None,
    day_to: date | None,
    progress: Callable[[int, int], None] | None,
) -> RefreshResult:
    started = time.perf_counter()
    now = utcnow()
    if day_from is None:
        day_from = s.scalar(FIRST_DAY) or now.date()
    day_to = day_to or now.date()
    frozen = frozen_before(s)
    if frozen is not None and day_from < frozen:
        day_from = frozen
    total = (day_to - day_from).days + 1
    if total <= 0:
        return RefreshResult(None, None, 0, 0, 0, time.perf_counter() - started)
    done = 0
    chunk_start = day_from
    while chunk_start <= day_to:
        chunk_end = min(chunk_start + timedelta(days=CHUNK_DAYS - 1), day_to)
        _refresh_chunk(s, chunk_start, chunk_end, now)
        done += (chunk_end - chunk_start).days + 1
        if progress is not None:
            progress(done, total)
        chunk_start = chunk_end + timedelta(days=1)
    agent_rows, crew_rows = (
        int(s.scalar(COUNT_DAYS, {"first": day_from, "last": day_to}, table=Ident(table)) or 0)
        for table, _ in ROLLUP_TABLES[:2]
    )
    write_meta(s, LAST_REFRESH_KEY, now.isoformat())
    return RefreshResult(
        day_from, day_to, total, agent_rows, crew_rows, time.perf_counter() - started
    )


def _refresh_chunk(s: Session, first: date, last: date, now: object) -> None:
    params = {
        "ts_from": day_start(first),
        "ts_to": day_start(last + timedelta(days=1)),
        "now": now,
        "llm_ops": list(LLM_OPERATIONS),
    }
    with s.transaction():
        for table, query in ROLLUP_TABLES:
            s.execute(DELETE_DAYS, {"first": first, "last": last}, table=Ident(table))
            s.execute(named(query), params)


@dataclass
class JobState:
    """Last outcome of a background job, read by the health endpoint."""

    name: str
    interval_s: float
    last_run: float | None = None
    last_duration_s: float | None = None
    last_error: str | None = None
    runs: int = 0

    def record(self, started: float, error: BaseException | None = None) -> None:
        self.last_run = time.time()
        self.last_duration_s = time.perf_counter() - started
        self.last_error = None if error is None else f"{type(error).__name__}: {error}"
        self.runs += 1
        if error is not None:
            logger.warning("%s job failed: %s", self.name, error, exc_info=error)
