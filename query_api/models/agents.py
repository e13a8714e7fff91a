"""Agents: summaries and per-agent metrics."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field

from crewscope.query_api.models.common import MetricType, OverRange, TimeRange


class Trend(str, Enum):
    IMPROVING = "improving"
    DECLINING = "declining"
    STABLE = "stable"
    INSUFFICIENT_DATA = "insufficient_data"
    NO_DATA = "no_data"


class ExecutionTimes(BaseModel):
    avg_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


class TopError(BaseModel):
    error: str
    error_type: str | None = None
    count: int


class AgentSummary(BaseModel):
    agent: str
    total_executions: int
    successful_executions: int
    failed_executions: int
    success_rate: float | None = Field(None, description="percent; null without executions")
    avg_ms: float | None = None
    p95_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    last_execution: datetime | None = None
    crew: str | None = Field(
        None, description="crew of the agent's latest execution; null when unknown"
    )
    service: str | None = Field(
        None, description="service.name of the agent's latest execution; null when unknown"
    )


class AgentListResponse(OverRange):
    agents: list[AgentSummary]


class AgentMetrics(BaseModel):
    """Executions, success and error rates, latency percentiles, top errors, tokens and cost."""

    agent: str
    time_range: TimeRange
    metric_type: MetricType
    window_start: datetime
    window_end: datetime
    total_executions: int
    successful_executions: int
    failed_executions: int
    success_rate: float = Field(description="percent, 0 without executions")
    error_rate: float = Field(description="percent, 0 without executions")
    execution_times: ExecutionTimes
    top_errors: list[TopError]
    trend: Trend
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float | None
    rollup_refreshed_at: datetime | None = None
