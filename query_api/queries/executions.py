"""What runs and tasks share: status and start-time filters, paging, a row's common fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crewscope.query_api.dates import as_utc, to_naive_utc
from crewscope.query_api.models.common import ExecutionStatus
from crewscope.query_api.models.spans import SpanCounts
from crewscope.query_api.queries.previews import preview
from crewscope.query_api.queries.rows import as_api
from crewscope.query_api.store.query import Ident, Where, inline, named
from crewscope.query_api.store.session import Row, Session

COUNT_WHERE = inline("count_where", "SELECT count(*) FROM {{table}} {{where}}")
COUNT_FIELDS = tuple(SpanCounts.model_fields)


@dataclass(frozen=True)
class Started:
    """Outcome and start-time filters of runs, tasks (and their exports)."""

    status: ExecutionStatus | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None

    def where(self, where: Where) -> Where:
        """`where` with these conditions on a projection's "Failed" and "Timestamp" added."""
        if self.status is not None:
            failed = ExecutionStatus(self.status) is ExecutionStatus.FAILED
            where.add('"Failed" = $failed', failed=failed)
        where.add_if(to_naive_utc(self.start_from), '"Timestamp" >= $start_from', "start_from")
        where.add_if(to_naive_utc(self.start_to), '"Timestamp" <= $start_to', "start_to")
        return where


UNFILTERED = Started()


def page(
    s: Session, table: str, list_query: str, where: Where, limit: int, offset: int
) -> tuple[int, list[Row]]:
    """(total, rows of one page) of a projection table (`table` from code, never input)."""
    with s.transaction():  # one snapshot: the total counts the page's rows
        total = s.scalar(COUNT_WHERE, table=Ident(table), where=where) or 0
        rows = s.rows(named(list_query), {"limit": limit, "offset": offset}, where=where)
    return int(total), rows


def execution_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The summary fields a run and a task take alike from their projection row."""
    return {
        **as_api(row, "TraceId", "CrewName"),
        "status": ExecutionStatus.FAILED if row["Failed"] else ExecutionStatus.COMPLETED,
        "start_time": as_utc(row["Timestamp"]),
        "end_time": as_utc(row["EndTime"]),
        "duration_ms": row["DurationMs"],
        "input_tokens": row["InputTokens"],
        "output_tokens": row["OutputTokens"],
        "error_type": row["ErrorType"],
        "error_preview": preview(row["StatusMessage"]) if row["Failed"] else None,
    }


def stored_or_counted(stored: int | None, counted: int | None) -> int | None:
    """A count stored on the row (the exporter's), else the one counted over the subtree."""
    return stored if stored is not None else counted


def span_counts(row: dict[str, Any], prefix: str = "") -> SpanCounts:
    """A `SpanCounts` from the columns named like its fields (after `prefix`)."""
    return SpanCounts(**{name: row[prefix + name] for name in COUNT_FIELDS})
