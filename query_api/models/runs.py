"""Response models for runs, tasks and their span trees."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class ExecutionStatus(str, Enum):
    """Outcome of a finished run or task (spans are exported when they end)."""

    COMPLETED = "completed"
    FAILED = "failed"


class TimeRange(str, Enum):
    D1 = "1d"
    D7 = "7d"
    D30 = "30d"
    D90 = "90d"

    @property
    def days(self) -> int:
        return int(self.value[:-1])


class MetricType(str, Enum):
    REALTIME = "realtime"
    AGGREGATED = "aggregated"


class SpanEvent(BaseModel):
    name: str
    time: datetime
    attributes: dict[str, str] = Field(default_factory=dict)


class SpanNode(BaseModel):
    """One span of a run, with its children in start order."""

    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    operation: str | None = None
    status: str = Field(description="ok, error or unset")
    status_message: str | None = None
    error_type: str | None = None
    start_time: datetime
    end_time: datetime
    duration_ms: float
    agent: str | None = None
    task: str | None = None
    tool: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    attributes: dict[str, str] = Field(
        default_factory=dict, description="span attributes, values cut to 1000 characters"
    )
    events: list[SpanEvent] = Field(default_factory=list)
    children: list[SpanNode] = Field(default_factory=list)


class SpanCounts(BaseModel):
    spans: int = 0
    tasks: int = 0
    steps: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    errors: int = 0


class ErrorInfo(BaseModel):
    span_id: str
    span_name: str
    error_type: str | None = None
    message: str | None = None


class RunSummary(BaseModel):
    """A crew kickoff (one trace)."""

    run_id: str = Field(description="the trace id")
    span_id: str
    crew: str | None
    status: ExecutionStatus
    start_time: datetime
    end_time: datetime
    duration_ms: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = Field(None, description="sum over LLM calls; null if no known price")
    task_count: int = 0
    llm_calls: int | None = None
    input_summary: dict[str, Any] | None = Field(
        None, description="input keys, with small values when content capture was on"
    )
    error_type: str | None = None
    error_preview: str | None = None


class RunListResponse(BaseModel):
    runs: list[RunSummary]
    total: int
    limit: int
    offset: int


class RunDetail(RunSummary):
    output_preview: str | None = None
    counts: SpanCounts
    errors: list[ErrorInfo]
    spans: list[SpanNode] = Field(description="span tree roots (normally the crew span)")


class TaskSummary(BaseModel):
    """One task executed by an agent (an invoke_agent span)."""

    task_id: str = Field(description="the span id")
    run_id: str
    crew: str | None
    agent: str | None
    task: str | None
    status: ExecutionStatus
    start_time: datetime
    end_time: datetime
    duration_ms: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    llm_calls: int | None = None
    tool_calls: int | None = None
    error_type: str | None = None
    error_preview: str | None = None


class TaskListResponse(BaseModel):
    tasks: list[TaskSummary]
    total: int
    limit: int
    offset: int


class TaskDetail(TaskSummary):
    cost_usd: float | None = Field(None, description="sum over its LLM calls; null if unpriced")
    output_preview: str | None = None
    counts: SpanCounts
    errors: list[ErrorInfo]
    spans: list[SpanNode] = Field(description="the task span with its steps, tools and LLM calls")
