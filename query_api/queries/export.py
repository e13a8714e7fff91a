"""Streamed CSV / JSON export of runs, tasks and rollups (rows fetched in batches)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from enum import Enum
from typing import Any

import duckdb

from crewscope.query_api.store.where import Where

BATCH_ROWS = 2000


class Dataset(str, Enum):
    RUNS = "runs"
    TASKS = "tasks"
    ROLLUPS_AGENT = "rollups_agent"
    ROLLUPS_CREW = "rollups_crew"


class ExportFormat(str, Enum):
    CSV = "csv"
    JSON = "json"


# Fixed allowlist: each dataset's SELECT, with {where} from a `Where`.
EXPORT_QUERIES = {
    Dataset.RUNS: """
        SELECT r."TraceId" AS run_id, r."SpanId" AS span_id, r."CrewName" AS crew,
            CASE WHEN r."Failed" THEN 'failed' ELSE 'completed' END AS status,
            r."Timestamp" AS start_time, r."EndTime" AS end_time, r."DurationMs" AS duration_ms,
            r."InputTokens" AS input_tokens, r."OutputTokens" AS output_tokens,
            t."CostUsd" AS cost_usd, t."Tasks" AS task_count, t."LlmCalls" AS llm_calls,
            t."ToolCalls" AS tool_calls, r."ErrorType" AS error_type,
            left(r."StatusMessage", 200) AS error_preview
        FROM crewscope_runs r LEFT JOIN crewscope_trace_totals t USING ("TraceId")
        {where} ORDER BY r."Timestamp" DESC, r."SpanId"
    """,
    Dataset.TASKS: """
        SELECT "SpanId" AS task_id, "TraceId" AS run_id, "CrewName" AS crew,
            "AgentName" AS agent, "TaskName" AS task,
            CASE WHEN "Failed" THEN 'failed' ELSE 'completed' END AS status,
            "Timestamp" AS start_time, "EndTime" AS end_time, "DurationMs" AS duration_ms,
            "InputTokens" AS input_tokens, "OutputTokens" AS output_tokens,
            "LlmCalls" AS llm_calls, "ToolCalls" AS tool_calls, "ErrorType" AS error_type,
            left("StatusMessage", 200) AS error_preview
        FROM crewscope_tasks {where} ORDER BY "Timestamp" DESC, "SpanId"
    """,
    Dataset.ROLLUPS_AGENT: """
        SELECT "Day" AS day, "AgentName" AS agent, "Executions" AS executions,
            "Successful" AS successful, "Failed" AS failed, "SuccessRate" AS success_rate,
            "AvgMs" AS avg_ms, "MinMs" AS min_ms, "MaxMs" AS max_ms, "P50Ms" AS p50_ms,
            "P95Ms" AS p95_ms, "P99Ms" AS p99_ms, "InputTokens" AS input_tokens,
            "OutputTokens" AS output_tokens, "CostUsd" AS cost_usd
        FROM crewscope_rollup_agent_daily {where} ORDER BY "Day", "AgentName"
    """,
    Dataset.ROLLUPS_CREW: """
        SELECT "Day" AS day, "CrewName" AS crew, "Executions" AS executions,
            "Successful" AS successful, "Failed" AS failed, "SuccessRate" AS success_rate,
            "AvgMs" AS avg_ms, "MinMs" AS min_ms, "MaxMs" AS max_ms, "P50Ms" AS p50_ms,
            "P95Ms" AS p95_ms, "P99Ms" AS p99_ms, "InputTokens" AS input_tokens,
            "OutputTokens" AS output_tokens, "CostUsd" AS cost_usd
        FROM crewscope_rollup_crew_daily {where} ORDER BY "Day", "CrewName"
    """,
}

MEDIA_TYPES = {ExportFormat.CSV: "text/csv", ExportFormat.JSON: "application/json"}


def _batches(
    cur: duckdb.DuckDBPyConnection, dataset: Dataset, where: Where
) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
    cur.execute(EXPORT_QUERIES[dataset].format(where=where.sql()), where.params)
    columns = [d[0] for d in cur.description or ()]

    def rows() -> Iterator[list[tuple[Any, ...]]]:
        while batch := cur.fetchmany(BATCH_ROWS):
            yield batch

    return columns, rows()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    return value


def stream_export(
    cur: duckdb.DuckDBPyConnection, dataset: Dataset, fmt: ExportFormat, where: Where
) -> Iterator[str]:
    """Yield the export in chunks; the caller owns (and closes) `cur` after iteration."""
    columns, batches = _batches(cur, dataset, where)
    if fmt is ExportFormat.CSV:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        yield buf.getvalue()
        for batch in batches:
            buf.seek(0)
            buf.truncate()
            writer.writerows([[_plain(v) for v in row] for row in batch])
            yield buf.getvalue()
        return
    yield "["
    first = True
    for batch in batches:
        parts = [
            json.dumps(dict(zip(columns, map(_plain, row), strict=True)), ensure_ascii=False)
            for row in batch
        ]
        yield ("" if first else ",") + "\n" + ",\n".join(parts)
        first = False
    yield "\n]\n"
