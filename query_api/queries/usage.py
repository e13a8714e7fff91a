"""Tool calls, LLM usage, memory operations and HTTP endpoint performance over a window."""

from __future__ import annotations

from datetime import datetime

import duckdb

from crewscope.query_api.models.agents import (
    AgentLlmUsage,
    AgentMemoryStats,
    EndpointPerformanceResponse,
    EndpointStats,
    LlmUsageResponse,
    MemoryStatsResponse,
    ModelUsage,
    ToolUsage,
    ToolUsageResponse,
)
from crewscope.query_api.models.runs import TimeRange
from crewscope.query_api.queries.span_tree import rows_as_dicts
from crewscope.query_api.store.sql import load_sql
from crewscope.query_api.store.where import as_utc, window


def _params(time_range: TimeRange, now: datetime | None, **extra: object) -> dict[str, object]:
    start, end = window(time_range.days, now)
    return {"start": start, "end": end, **extra}


def tool_usage(
    cur: duckdb.DuckDBPyConnection,
    time_range: TimeRange,
    agent: str | None = None,
    now: datetime | None = None,
) -> ToolUsageResponse:
    params = _params(time_range, now, agent=agent)
    rows = rows_as_dicts(cur.execute(load_sql("reads/tool_usage.sql"), params))
    return ToolUsageResponse(
        time_range=time_range, agent=agent, tools=[ToolUsage(**r) for r in rows]
    )


def llm_usage(
    cur: duckdb.DuckDBPyConnection,
    time_range: TimeRange,
    agent: str | None = None,
    now: datetime | None = None,
) -> LlmUsageResponse:
    params = _params(time_range, now, agent=agent)
    by_model = rows_as_dicts(cur.execute(load_sql("reads/llm_usage_by_model.sql"), params))
    by_agent = rows_as_dicts(cur.execute(load_sql("reads/llm_usage_by_agent.sql"), params))
    return LlmUsageResponse(
        time_range=time_range,
        agent=agent,
        by_model=[ModelUsage(**r) for r in by_model],
        by_agent=[AgentLlmUsage(**r) for r in by_agent],
    )


def memory_stats(
    cur: duckdb.DuckDBPyConnection,
    time_range: TimeRange,
    agent: str | None = None,
    now: datetime | None = None,
) -> MemoryStatsResponse:
    params = _params(time_range, now, agent=agent)
    rows = rows_as_dicts(cur.execute(load_sql("reads/memory_stats.sql"), params))
    for row in rows:
        if row["last_activity_timestamp"] is not None:
            row["last_activity_timestamp"] = as_utc(row["last_activity_timestamp"])
    return MemoryStatsResponse(time_range=time_range, agents=[AgentMemoryStats(**r) for r in rows])


def endpoint_performance(
    cur: duckdb.DuckDBPyConnection,
    time_range: TimeRange,
    service: str | None = None,
    now: datetime | None = None,
) -> EndpointPerformanceResponse:
    params = _params(time_range, now, service=service)
    rows = rows_as_dicts(cur.execute(load_sql("reads/endpoint_performance.sql"), params))
    return EndpointPerformanceResponse(
        time_range=time_range, endpoints=[EndpointStats(**r) for r in rows]
    )
