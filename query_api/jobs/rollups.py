"""Daily rollups per agent and per crew, refreshed idempotently.

A refresh recomputes whole UTC days: in one transaction per chunk of days it deletes the
rollup rows of those days and inserts them again from the projections, so re-running gives
the same rows and today's partial day is simply recomputed. Days before the retention
cutoff are frozen: their spans are gone, so their rollups are kept as they are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

import duckdb

from crewscope.query_api.models.agents import RollupResponse, RollupRow
from crewscope.query_api.queries.span_tree import rows_as_dicts
from crewscope.query_api.store.projections import read_meta
from crewscope.query_api.store.sql import LLM_OPERATIONS, load_sql
from crewscope.query_api.store.where import as_utc, day_start, utcnow

logger = logging.getLogger(__name__)

FROZEN_BEFORE_KEY = "rollups_frozen_before"
LAST_REFRESH_KEY = "rollups_last_refresh"
ROLLUP_TABLES = (  # fixed allowlist: (table, insert query)
    ("crewscope_rollup_agent_daily", "rollups/agent_daily.sql"),
    ("crewscope_rollup_crew_daily", "rollups/crew_daily.sql"),
    ("crewscope_rollup_agent_errors_daily", "rollups/agent_errors_daily.sql"),
)
FIRST_DAY = """
SELECT min(d) FROM (
    SELECT min("Timestamp")::DATE AS d FROM crewscope_tasks
    UNION ALL SELECT min("Timestamp")::DATE FROM crewscope_runs
)
"""
CHUNK_DAYS = 7


@dataclass
class RefreshResult:
    day_from: date | None
    day_to: date | None
    days: int
    agent_rows: int
    crew_rows: int
    seconds: float


def frozen_before(cur: duckdb.DuckDBPyConnection) -> date | None:
    value = read_meta(cur, FROZEN_BEFORE_KEY)
    return date.fromisoformat(value) if value else None


def refresh_rollups(
    cur: duckdb.DuckDBPyConnection,
    day_from: date | None = None,
    day_to: date | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshResult:
    """Recompute the rollups of [day_from, day_to] (default: first day with data .. today).

    `progress(done_days, total_days)` is called after each committed chunk.
    """
    started = time.perf_counter()
    now = utcnow()
    if day_from is None:
        row = cur.execute(FIRST_DAY).fetchone()
        day_from = row[0] if row and row[0] else now.date()
    day_to = day_to or now.date()
    frozen = frozen_before(cur)
    if frozen is not None and day_from < frozen:
        day_from = frozen
    total = (day_to - day_from).days + 1
    if total <= 0:
        return RefreshResult(None, None, 0, 0, 0, time.perf_counter() - started)
    done = 0
    chunk_start = day_from
    while chunk_start <= day_to:
        chunk_end = min(chunk_start + timedelta(days=CHUNK_DAYS - 1), day_to)
        _refresh_chunk(cur, chunk_start, chunk_end, now)
        done += (chunk_end - chunk_start).days + 1
        if progress is not None:
            progress(done, total)
        chunk_start = chunk_end + timedelta(days=1)
    counts = [
        cur.execute(
            f'SELECT count(*) FROM {table} WHERE "Day" BETWEEN ? AND ?', [day_from, day_to]
        ).fetchone()
        for table, _ in ROLLUP_TABLES[:2]
    ]
    cur.execute(
        "INSERT OR REPLACE INTO crewscope_meta VALUES (?, ?)", [LAST_REFRESH_KEY, now.isoformat()]
    )
    return RefreshResult(
        day_from,
        day_to,
        total,
        int(counts[0][0]) if counts[0] else 0,
        int(counts[1][0]) if counts[1] else 0,
        time.perf_counter() - started,
    )


def _refresh_chunk(cur: duckdb.DuckDBPyConnection, first: date, last: date, now: object) -> None:
    params = {
        "ts_from": day_start(first),
        "ts_to": day_start(last + timedelta(days=1)),
        "now": now,
        "llm_ops": list(LLM_OPERATIONS),
    }
    cur.begin()
    try:
        for table, query in ROLLUP_TABLES:
            cur.execute(f'DELETE FROM {table} WHERE "Day" BETWEEN ? AND ?', [first, last])
            sql = load_sql(query)
            cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
        cur.commit()
    except BaseException:
        cur.rollback()
        raise


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


class GroupBy(str, Enum):
    AGENT = "agent"
    CREW = "crew"


# Fixed allowlist: rollup table and name column per grouping.
ROLLUP_SOURCES = {
    GroupBy.AGENT: ("crewscope_rollup_agent_daily", "AgentName"),
    GroupBy.CREW: ("crewscope_rollup_crew_daily", "CrewName"),
}
READ_ROLLUPS = """
SELECT "Day" AS day, "{col}" AS name, "Executions" AS executions, "Successful" AS successful,
    "Failed" AS failed, "SuccessRate" AS success_rate, "AvgMs" AS avg_ms, "MinMs" AS min_ms,
    "MaxMs" AS max_ms, "P50Ms" AS p50_ms, "P95Ms" AS p95_ms, "P99Ms" AS p99_ms,
    "InputTokens" AS input_tokens, "OutputTokens" AS output_tokens, "CostUsd" AS cost_usd,
    "RefreshedAt" AS refreshed_at
FROM {table}
WHERE "Day" BETWEEN $date_from AND $date_to AND ($name IS NULL OR "{col}" = $name)
ORDER BY "Day" DESC, "{col}"
LIMIT $limit OFFSET $offset
"""
COUNT_ROLLUPS = """
SELECT count(*) FROM {table}
WHERE "Day" BETWEEN $date_from AND $date_to AND ($name IS NULL OR "{col}" = $name)
"""


def read_rollups(
    cur: duckdb.DuckDBPyConnection,
    group_by: GroupBy,
    date_from: date,
    date_to: date,
    name: str | None,
    limit: int,
    offset: int,
) -> RollupResponse:
    table, col = ROLLUP_SOURCES[group_by]
    params: dict[str, object] = {"date_from": date_from, "date_to": date_to, "name": name}
    (total,) = cur.execute(COUNT_ROLLUPS.format(table=table, col=col), params).fetchone() or (0,)
    cur.execute(
        READ_ROLLUPS.format(table=table, col=col), {**params, "limit": limit, "offset": offset}
    )
    rows = []
    for row in rows_as_dicts(cur):
        row[group_by.value] = row.pop("name")
        row["refreshed_at"] = as_utc(row["refreshed_at"])
        rows.append(RollupRow(**row))
    return RollupResponse(
        group_by=group_by.value,
        date_from=date_from,
        date_to=date_to,
        rows=rows,
        total=int(total),
        limit=limit,
        offset=offset,
    )
