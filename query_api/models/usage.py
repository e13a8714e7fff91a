"""Tool calls, LLM usage, memory operations and HTTP endpoint performance."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from crewscope.query_api.models.common import OverRange


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


class ToolUsageResponse(OverRange):
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


class LlmUsageResponse(OverRange):
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


class MemoryStatsResponse(OverRange):
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


class EndpointPerformanceResponse(OverRange):
    endpoints: list[EndpointStats]
