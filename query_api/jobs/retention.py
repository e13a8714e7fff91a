"""Retention: delete spans, log records and metric points older than N days, keeping the
rollups.

Before deleting, the rollups of the affected days are refreshed, and the cutoff day is
recorded so later refreshes leave those (now span-less) days alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crewscope.query_api.dates import day_start, utcnow
from crewscope.query_api.jobs.rollups import FROZEN_BEFORE_KEY, frozen_before, refresh_rollups
from crewscope.query_api.store.meta import write_meta
from crewscope.query_api.store.projections import Projections
from crewscope.query_api.store.query import Ident, inline
from crewscope.query_api.store.session import EngineError, Session

logger = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30
# Fixed allowlist of (table, time column): spans, logs and the ClickHouse-style metric tables.
RETAINED_TABLES = (
    ("otel_traces", "Timestamp"),
    ("otel_logs", "Timestamp"),
    ("otel_metrics_gauge", "TimeUnix"),
    ("otel_metrics_sum", "TimeUnix"),
    ("otel_metrics_histogram", "TimeUnix"),
    ("otel_metrics_exponential_histogram", "TimeUnix"),
    ("otel_metrics_summary", "TimeUnix"),
)
TABLE_HAS_COLUMN = inline(
    "table_has_column",
    "SELECT count(*) FROM information_schema.columns "
    "WHERE table_name = $table AND column_name = $column",
)
COUNT_BEFORE = inline("count_before", "SELECT count(*) FROM {{table}} WHERE {{column}} < $cutoff")
DELETE_BEFORE = inline("delete_before", "DELETE FROM {{table}} WHERE {{column}} < $cutoff")


@dataclass
class CleanupResult:
    cutoff: datetime
    deleted: dict[str, int]
    dry_run: bool


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    """Midnight UTC `days` days before today: whole days are deleted, never part of one."""
    return day_start((now or utcnow()).date() - timedelta(days=days))


def cleanup(
    s: Session,
    projections: Projections,
    days: int,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> CleanupResult:
    if days < 0:
        raise ValueError("days must be >= 0")
    cutoff = cutoff_for(days, now)
    tables = [(Ident(t), Ident(c)) for t, c in RETAINED_TABLES if _has_column(s, t, c)]
    counts = {
        table.name: int(s.scalar(COUNT_BEFORE, {"cutoff": cutoff}, table=table, column=col) or 0)
        for table, col in tables
    }
    if dry_run or not any(counts.values()):
        return CleanupResult(cutoff, counts, dry_run)
    projections.sync(s)
    first: date | None = frozen_before(s)
    refresh_rollups(s, first, cutoff.date() - timedelta(days=1))
    with s.transaction():
        for table, col in tables:
            s.execute(DELETE_BEFORE, {"cutoff": cutoff}, table=table, column=col)
        previous = frozen_before(s)
        write_meta(s, FROZEN_BEFORE_KEY, max(cutoff.date(), previous or cutoff.date()).isoformat())
    # Deleting lets a checkpoint renumber rowids: fold it in now and rebuild the projections.
    try:
        s.checkpoint()
    except EngineError:  # other transactions open: a later checkpoint will vacuum instead
        logger.debug("checkpoint after retention deferred", exc_info=True)
    projections.rebuild(s)
    logger.info("retention: deleted %s (before %s)", counts, cutoff.isoformat())
    return CleanupResult(cutoff, counts, dry_run)


def _has_column(s: Session, table: str, column: str) -> bool:
    return bool(s.scalar(TABLE_HAS_COLUMN, {"table": table, "column": column}))
