"""Tool calls, LLM usage, memory operations and HTTP endpoint performance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crewscope.query_api.deps import INVALID, AgentQ, Range, SessionDep
from crewscope.query_api.models.common import TimeRange
from crewscope.query_api.models.usage import (
    EndpointPerformanceResponse,
    LlmUsageResponse,
    MemoryStatsResponse,
    ToolUsageResponse,
)
from crewscope.query_api.queries.usage import (
    endpoint_performance,
    llm_usage,
    memory_stats,
    tool_usage,
)

router = APIRouter(tags=["usage"], responses=INVALID)


@router.get("/tools", response_model=ToolUsageResponse)
def read_tools(
    session: SessionDep, time_range: Range = TimeRange.D7, agent: AgentQ = None
) -> ToolUsageResponse:
    """Calls, errors and latency per tool."""
    return tool_usage(session, time_range, agent)


@router.get("/llm", response_model=LlmUsageResponse)
def read_llm(
    session: SessionDep, time_range: Range = TimeRange.D7, agent: AgentQ = None
) -> LlmUsageResponse:
    """Tokens, cost and latency per model, and tokens and cost per agent."""
    return llm_usage(session, time_range, agent)


@router.get("/memory/stats", response_model=MemoryStatsResponse, tags=["memory"])
def read_memory(
    session: SessionDep, time_range: Range = TimeRange.D30, agent: AgentQ = None
) -> MemoryStatsResponse:
    """Memory saves and queries per agent."""
    return memory_stats(session, time_range, agent)


@router.get("/endpoints", response_model=EndpointPerformanceResponse)
def read_endpoints(
    session: SessionDep,
    time_range: Range = TimeRange.D1,
    service: Annotated[str | None, Query(description="service.name")] = None,
) -> EndpointPerformanceResponse:
    """Requests, 4xx/5xx rates and p50/p90/p99 latency per HTTP route (server spans)."""
    return endpoint_performance(session, time_range, service)
