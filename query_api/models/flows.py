"""Flows: runs, success rate, latency, tokens and cost per flow, executions per method."""

from __future__ import annotations

from pydantic import BaseModel, Field

from crewscope.query_api.models.agents import ExecutionTimes
from crewscope.query_api.models.common import OverRange


class FlowMethodStats(BaseModel):
    method: str
    executions: int
    failed: int
    avg_ms: float | None = None
    p95_ms: float | None = None


class FlowStats(BaseModel):
    flow: str
    runs: int = Field(description="flow runs started in the range (top-level or nested)")
    successful: int
    failed: int
    success_rate: float = Field(description="percentage of runs that completed")
    duration: ExecutionTimes
    crew_runs: int = Field(description="crew runs started by these flow runs")
    input_tokens: int
    output_tokens: int
    cost_usd: float | None = Field(None, description="sum over LLM calls; null if none priced")
    methods: list[FlowMethodStats] = Field(description="in order of first execution")


class FlowListResponse(OverRange):
    flows: list[FlowStats]
