"""Tool calls, LLM usage, memory operations and HTTP endpoint performance over a window."""

from __future__ import annotations

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
from crewscope.query_api.store.session import Row, Session


def _rows(s: Session, query: str, time_range: TimeRange, **filters: object) -> list[Row]:
    """The rows of a usage query over the last `time_range` (filters: None = all)."""
    start, end = window(time_range.days)
    return s.rows(named(query), {"start": start, "end": end, **filters})


def tool_usage(s: Session, time_range: TimeRange, agent: str | None = None) -> ToolUsageResponse:
    tools = [ToolUsage(**r) for r in _rows(s, "reads/tool_usage", time_range, agent=agent)]
    return ToolUsageResponse(time_range=time_range, agent=agent, tools=tools)


def llm_usage(s: Session, time_range: TimeRange, agent: str | None = None) -> LlmUsageResponse:
    with s.transaction():  # one snapshot: both breakdowns count the same calls
        by_model = _rows(s, "reads/llm_usage_by_model", time_range, agent=agent)
        by_agent = _rows(s, "reads/llm_usage_by_agent", time_range, agent=agent)
    return LlmUsageResponse(
        time_range=time_range,
        agent=agent,
        by_model=[ModelUsage(**r) for r in by_model],
        by_agent=[AgentLlmUsage(**r) for r in by_agent],
    )


def memory_stats(
    s: Session, time_range: TimeRange, agent: str | None = None
) -> MemoryStatsResponse:
    rows = _rows(s, "reads/memory_stats", time_range, agent=agent)
    agents = [from_row(AgentMemoryStats, r, "last_activity_timestamp") for r in rows]
    return MemoryStatsResponse(time_range=time_range, agents=agents)


def endpoint_performance(
    s: Session, time_range: TimeRange, service: str | None = None
) -> EndpointPerformanceResponse:
    rows = _rows(s, "reads/endpoint_performance", time_range, service=service)
    return EndpointPerformanceResponse(
        time_range=time_range, endpoints=[EndpointStats(**r) for r in rows]
    )
