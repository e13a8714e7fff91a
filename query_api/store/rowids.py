"""New rows by rowid: what the projection sync and the live feed read since last time.

DuckDB gives appended rows increasing rowids and a reader's snapshot always sees a rowid
prefix of committed appends, so "rowid >= watermark" is exactly what is new, whatever path
wrote it. Rowids are renumbered only when a checkpoint vacuums deleted rows (after
retention); callers detect that (`last_rowid` below their watermark) and start again.
"""

from __future__ import annotations

from crewscope.query_api.store.query import Ident, inline
from crewscope.query_api.store.session import Session

ROWID_TABLES = frozenset({"otel_traces", "otel_metrics_sum", "otel_metrics_gauge", "otel_logs"})
"""The tables read by rowid (allowlist)."""

MAX_ROWID_FROM = inline("max_rowid_from", "SELECT max(rowid) FROM {{table}} WHERE rowid >= $lo")
MAX_ROWID = inline("max_rowid", "SELECT max(rowid) FROM {{table}}")
COUNT_BELOW = inline("count_below", "SELECT count(*) FROM {{table}} WHERE rowid < $lo")


def _table(name: str) -> Ident:
    if name not in ROWID_TABLES:
        raise ValueError(f"{name} is not read by rowid")
    return Ident(name)


def newest_rowid(s: Session, table: str, since: int) -> int | None:
    """The highest rowid >= `since`, or None when nothing was appended since."""
    value = s.scalar(MAX_ROWID_FROM, {"lo": since}, table=_table(table))
    return None if value is None else int(value)


def last_rowid(s: Session, table: str) -> int:
    """The highest rowid in the table (-1 when empty)."""
    value = s.scalar(MAX_ROWID, table=_table(table))
    return -1 if value is None else int(value)


def rows_below(s: Session, table: str, rowid: int) -> int:
    """How many rows have a rowid below `rowid` (a renumbering check)."""
    return int(s.scalar(COUNT_BELOW, {"lo": rowid}, table=_table(table)) or 0)
