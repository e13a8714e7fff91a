"""A run's or task's span tree, counts and errors."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from crewscope.query_api.models.common import Timed


class SpanEvent(BaseModel):
    name: str
    time: datetime
    attributes: dict[str, str] = Field(default_factory=dict)


class SpanNode(Timed):
    """One span of a run, with its children in start order."""

    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    operation: str | None = None
    status: str = Field(description="ok, error or unset")
    status_message: str | None = None
    error_type: str | None = None
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


class TreeDetail(BaseModel):
    """What a run's and a task's detail add to its summary (with its own ``spans``)."""

    output_preview: str | None = None
    counts: SpanCounts
    errors: list[ErrorInfo]
