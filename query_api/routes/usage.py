"""Tool calls, LLM usage, memory operations and HTTP endpoint performance."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from pydantic import BaseModel

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
from crewscope.query_api.routes.params import ServiceQ
from crewscope.query_api.store.session import Session

router = APIRouter(tags=["usage"], responses=INVALID)

AgentUsage = Callable[[Session, TimeRange, str | None], BaseModel]
"""A usage query over the last `time_range` days, of one agent or (None) all."""


def per_agent(query: AgentUsage, default_range: TimeRange) -> Callable[..., BaseModel]:
    """The endpoint answering `query`: ``time_range`` (default `default_range`), ``agent``."""

    def endpoint(
        session: SessionDep, time_range: Range = default_range, agent: AgentQ = None
    ) -> BaseModel:
        return query(session, time_range, agent)

    return endpoint


# path, route name, query, response, default range, extra tags, description
PER_AGENT: tuple[tuple[str, str, AgentUsage, type[BaseModel], TimeRange, list[str], str], ...] = (
    ("/tools", "read_tools", tool_usage, ToolUsageResponse, TimeRange.D7, [],
     "Calls, errors and latency per tool."),
    ("/llm", "read_llm", llm_usage, LlmUsageResponse, TimeRange.D7, [],
     "Tokens, cost and latency per model, and tokens and cost per agent."),
    ("/memory/stats", "read_memory", memory_stats, MemoryStatsResponse, TimeRange.D30, ["memory"],
     "Memory saves and queries per agent."),
)  # fmt: skip
for path, name, query, response, default_range, tags, description in PER_AGENT:
    router.add_api_route(
        path, per_agent(query, default_range), methods=["GET"], name=name,
        response_model=response, tags=list(tags), description=description,
    )  # fmt: skip


@router.get("/endpoints", response_model=EndpointPerformanceResponse)
def read_endpoints(
    session: SessionDep, time_range: Range = TimeRange.D1, service: ServiceQ = None
) -> EndpointPerformanceResponse:
    """Requests, 4xx/5xx rates and p50/p90/p99 latency per HTTP route (server spans)."""
    return endpoint_performance(session, time_range, service)
