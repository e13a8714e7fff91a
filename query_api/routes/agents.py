"""Agents: summaries, per-agent metrics and memory statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from crewscope.query_api.deps import CursorDep, Range, not_found
from crewscope.query_api.models.agents import AgentListResponse, AgentMemoryStats, AgentMetrics
from crewscope.query_api.models.runs import MetricType, TimeRange
from crewscope.query_api.queries.agents import agent_exists, agent_metrics, list_agents
from crewscope.query_api.queries.usage import memory_stats

router = APIRouter(prefix="/agents", tags=["agents"])
AgentPath = Annotated[str, Path(min_length=1, max_length=500, description="agent role")]


@router.get("", response_model=AgentListResponse)
def read_agents(cur: CursorDep, time_range: Range = TimeRange.D7) -> AgentListResponse:
    """Every known agent with its execution summary over the range."""
    return list_agents(cur, time_range)


@router.get("/{agent}/metrics", response_model=AgentMetrics)
def read_agent_metrics(
    cur: CursorDep,
    agent: AgentPath,
    time_range: Range = TimeRange.D7,
    metric_type: Annotated[
        MetricType, Query(description="realtime (from spans) or aggregated (daily rollups)")
    ] = MetricType.REALTIME,
) -> AgentMetrics:
    """Counts, success/error rates, execution-time percentiles, top errors, trend, cost."""
    if not agent_exists(cur, agent):
        raise not_found("agent", agent)
    return agent_metrics(cur, agent, time_range, metric_type)


@router.get("/{agent}/memory/stats", response_model=AgentMemoryStats, tags=["memory"])
def read_agent_memory(
    cur: CursorDep, agent: AgentPath, time_range: Range = TimeRange.D30
) -> AgentMemoryStats:
    """Memory saves and queries of one agent (from `memory {op}` spans)."""
    if not agent_exists(cur, agent):
        raise not_found("agent", agent)
    stats = memory_stats(cur, time_range, agent).agents
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
