"""Retention: delete spans and metric points older than N days, keeping the rollups.

Before deleting, the rollups of the affected days are refreshed, and the cutoff day is
recorded so later refreshes leave those (now span-less) days alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from crewscope.query_api.jobs.rollups import FROZEN_BEFORE_KEY, frozen_before, refresh_rollups
from crewscope.query_api.store.projections import Projections, write_meta
from crewscope.query_api.store.where import day_start, utcnow

logger = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30
# Fixed allowlist of (table, time column): spans and the ClickHouse-style metric tables.
RETAINED_TABLES = (
    ("otel_traces", "Timestamp"),
    ("otel_metrics_gauge", "TimeUnix"),
    ("otel_metrics_sum", "TimeUnix"),
    ("otel_metrics_histogram", "TimeUnix"),
    ("otel_metrics_exponential_histogram", "TimeUnix"),
    ("otel_metrics_summary", "TimeUnix"),
)
TABLE_HAS_COLUMN = (
    "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?"
)


@dataclass
class CleanupResult:
    cutoff: datetime
    deleted: dict[str, int]
    dry_run: bool


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    """Midnight UTC `days` days before today: whole days are deleted, never part of one."""
    return day_start((now or utcnow()).date() - timedelta(days=days))


def cleanup(
    cur: duckdb.DuckDBPyConnection,
    projections: Projections,
    days: int,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> CleanupResult:
    if days < 0:
        raise ValueError("days must be >= 0")
    cutoff = cutoff_for(days, now)
    tables = [t for t in RETAINED_TABLES if _has_column(cur, *t)]
    counts = {
        table: int(
            (
                cur.execute(f'SELECT count(*) FROM {table} WHERE "{col}" < ?', [cutoff]).fetchone()
                or (0,)
            )[0]
        )
        for table, col in tables
    }
    if dry_run or not any(counts.values()):
        return CleanupResult(cutoff, counts, dry_run)
    projections.sync(cur)
    first: date | None = frozen_before(cur)
    refresh_rollups(cur, first, cutoff.date() - timedelta(days=1))
    cur.begin()
    try:
        for table, col in tables:
            cur.execute(f'DELETE FROM {table} WHERE "{col}" < ?', [cutoff])
        previous = frozen_before(cur)
        write_meta(
            cur, FROZEN_BEFORE_KEY, max(cutoff.date(), previous or cutoff.date()).isoformat()
        )
        cur.commit()
    except BaseException:
        cur.rollback()
        raise
    # Deleting lets a checkpoint renumber rowids: fold it in now and rebuild the projections.
    try:
        cur.execute("CHECKPOINT")
    except duckdb.Error:  # other transactions open: a later checkpoint will vacuum instead
        logger.debug("checkpoint after retention deferred", exc_info=True)
    projections.rebuild(cur)
    logger.info("retention: deleted %s (before %s)", counts, cutoff.isoformat())
    return CleanupResult(cutoff, counts, dry_run)


def _has_column(cur: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    row = cur.execute(TABLE_HAS_COLUMN, [table, column]).fetchone()
    return bool(row and row[0])
