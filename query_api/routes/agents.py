"""Agents: summaries, per-agent metrics and memory statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from crewscope.query_api.deps import (
    INVALID,
    NOT_FOUND,
    CatchUpDep,
    FreshSessionDep,
    Range,
    SessionDep,
    not_found,
)
from crewscope.query_api.models.agents import AgentListResponse, AgentMetrics
from crewscope.query_api.models.common import MetricType, TimeRange
from crewscope.query_api.models.usage import AgentMemoryStats
from crewscope.query_api.queries.agents import agent_exists, agent_metrics, list_agents
from crewscope.query_api.queries.usage import memory_stats

router = APIRouter(prefix="/agents", tags=["agents"], responses=INVALID)
AgentPath = Annotated[str, Path(min_length=1, max_length=500, description="agent role")]


@router.get("", response_model=AgentListResponse)
def read_agents(session: SessionDep, time_range: Range = TimeRange.D7) -> AgentListResponse:
    """Every known agent with its execution summary over the range."""
    return list_agents(session, time_range)


@router.get("/{agent}/metrics", response_model=AgentMetrics, responses=NOT_FOUND)
def read_agent_metrics(
    session: SessionDep,
    catch_up: CatchUpDep,
    agent: AgentPath,
    time_range: Range = TimeRange.D7,
    metric_type: Annotated[
        MetricType, Query(description="realtime (from spans) or aggregated (daily rollups)")
    ] = MetricType.REALTIME,
) -> AgentMetrics:
    """Counts, success/error rates, execution-time percentiles, top errors, trend, cost."""
    if not catch_up(lambda: agent_exists(session, agent) or None):
        raise not_found("agent", agent, "agent")
    return agent_metrics(session, agent, time_range, metric_type)


@router.get(
    "/{agent}/memory/stats", response_model=AgentMemoryStats, tags=["memory"], responses=NOT_FOUND
)
def read_agent_memory(
    session: FreshSessionDep, agent: AgentPath, time_range: Range = TimeRange.D30
) -> AgentMemoryStats:
    """Memory saves and queries of one agent (from `memory {op}` spans)."""
    if not agent_exists(session, agent):
        raise not_found("agent", agent, "agent")
    stats = memory_stats(session, time_range, agent).agents
    if stats:
        return stats[0]
    return AgentMemoryStats(
        agent=agent,
        memories_stored_count=0,
        memories_recalled_count=0,
        other_operations=0,
        errors=0,
        avg_ms=None,
        last_activity_timestamp=None,
    )
