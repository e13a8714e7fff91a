"""Response models for agents, rollups, dashboard, usage, memory, endpoints and health."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from pydantic import BaseModel, Field

from crewscope.query_api.models.runs import MetricType, TimeRange


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


class AgentListResponse(BaseModel):
    time_range: TimeRange
    agents: list[AgentSummary]


class AgentMetrics(BaseModel):
    """What seed 004 asks for, plus tokens and cost."""

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


class RollupRow(BaseModel):
    day: date
    agent: str | None = None
    crew: str | None = None
    executions: int
    successful: int
    failed: int
    success_rate: float | None
    avg_ms: float | None
    min_ms: float | None
    max_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    refreshed_at: datetime


class RollupResponse(BaseModel):
    group_by: str
    date_from: date
    date_to: date
    rows: list[RollupRow]
    total: int
    limit: int
    offset: int


class RollupRefreshResponse(BaseModel):
    date_from: date | None
    date_to: date | None
    days: int
    agent_rows: int
    crew_rows: int
    seconds: float


class PeriodTotals(BaseModel):
    period: str
    runs: int
    failed_runs: int
    executions: int
    successful_executions: int
    failed_executions: int
    success_rate: float | None
    avg_execution_ms: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float | None


class TrendPoint(BaseModel):
    day: date
    executions: int
    successful: int
    failed: int
    success_rate: float | None
    avg_ms: float | None


class DashboardResponse(BaseModel):
    generated_at: datetime
    totals: list[PeriodTotals] = Field(description="last 24h, 7d and 30d")
    average_success_rate: float | None = Field(description="percent over 30d")
    top_agents: list[AgentSummary] = Field(description="best success rate over 7d")
    agents_with_issues: list[AgentSummary] = Field(description="error rate above threshold, 7d")
    executions_trend: list[TrendPoint] = Field(description="per day, last 30 days")


class ToolUsage(BaseModel):
    tool: str
    calls: int
    errors: int
    error_rate: float
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None
    agents: int


class ToolUsageResponse(BaseModel):
    time_range: TimeRange
    agent: str | None
    tools: list[ToolUsage]


class ModelUsage(BaseModel):
    model: str | None
    provider: str | None
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None = Field(description="null when no call had a known price")
    priced_calls: int
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None


class AgentLlmUsage(BaseModel):
    agent: str | None
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None


class LlmUsageResponse(BaseModel):
    time_range: TimeRange
    agent: str | None
    by_model: list[ModelUsage]
    by_agent: list[AgentLlmUsage]


class AgentMemoryStats(BaseModel):
    agent: str
    memories_stored_count: int
    memories_recalled_count: int
    other_operations: int
    errors: int
    avg_ms: float | None
    last_activity_timestamp: datetime | None


class MemoryStatsResponse(BaseModel):
    time_range: TimeRange
    agents: list[AgentMemoryStats]


class EndpointStats(BaseModel):
    service: str | None
    method: str | None
    route: str
    requests: int
    client_errors: int
    server_errors: int
    client_error_rate: float
    server_error_rate: float
    avg_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None


class EndpointPerformanceResponse(BaseModel):
    time_range: TimeRange
    endpoints: list[EndpointStats]


class ComponentStatus(BaseModel):
    name: str
    status: str = Field(description="healthy, degraded, unhealthy or not_configured")
    details: str | None = None
    metrics: dict[str, float | int | str | None] = Field(default_factory=dict)


class SystemHealthSummary(BaseModel):
    overall_status: str = Field(description="healthy, degraded or unhealthy")
    timestamp: datetime
    service_statuses: list[ComponentStatus]
