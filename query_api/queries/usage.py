"""Tool calls, LLM usage, memory operations and HTTP endpoint performance over a window."""

from __future__ import annotations

from datetime import datetime

from crewscope.query_api.dates import window
from crewscope.query_api.models.common import TimeRange
from crewscope.query_api.models.usage import (
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
from crewscope.query_api.queries.rows import from_row
from crewscope.query_api.store.query import named
from crewscope.query_api.store.session import Session


def _params(time_range: TimeRange, now: datetime | None, **extra: object) -> dict[str, object]:
    start, end = window(time_range.days, now)
    return {"start": start, "end": end, **extra}


def tool_usage(
    s: Session,
    time_range: TimeRange,
    agent: str | None = None,
    now: datetime | None = None,
) -> ToolUsageResponse:
    params = _params(time_range, now, agent=agent)
    rows = s.rows(named("reads/tool_usage"), params)
    return ToolUsageResponse(
        time_range=time_range, agent=agent, tools=[ToolUsage(**r) for r in rows]
    )


def llm_usage(
    s: Session,
    time_range: TimeRange,
    agent: str | None = None,
    now: datetime | None = None,
) -> LlmUsageResponse:
    params = _params(time_range, now, agent=agent)
    by_model = s.rows(named("reads/llm_usage_by_model"), params)
    by_agent = s.rows(named("reads/llm_usage_by_agent"), params)
    return LlmUsageResponse(
        time_range=time_range,
        agent=agent,
        by_model=[ModelUsage(**r) for r in by_model],
        by_agent=[AgentLlmUsage(**r) for r in by_agent],
    )


def memory_stats(
    s: Session,
    time_range: TimeRange,
    agent: str | None = None,
    now: datetime | None = None,
) -> MemoryStatsResponse:
    params = _params(time_range, now, agent=agent)
    rows = s.rows(named("reads/memory_stats"), params)
    agents = [from_row(AgentMemoryStats, r, "last_activity_timestamp") for r in rows]
    return MemoryStatsResponse(time_range=time_range, agents=agents)


def endpoint_performance(
    s: Session,
    time_range: TimeRange,
    service: str | None = None,
    now: datetime | None = None,
) -> EndpointPerformanceResponse:
    params = _params(time_range, now, service=service)
    rows = s.rows(named("reads/endpoint_performance"), params)
    return EndpointPerformanceResponse(
        time_range=time_range, endpoints=[EndpointStats(**r) for r in rows]
    )
