"""The dashboard: period totals, agents, trend."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from crewscope.query_api.models.agents import AgentSummary


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
