"""Task executions: list and detail."""

from __future__ import annotations

from pydantic import Field

from crewscope.query_api.models.common import Execution, Paged
from crewscope.query_api.models.spans import SpanNode, TreeDetail


class TaskSummary(Execution):
    """One task executed by an agent (an invoke_agent span)."""

    task_id: str = Field(description="the span id")
    run_id: str = Field(description="the top-level run the task belongs to")
    crew_run_id: str = Field(description="the crew run (or agent run) that executed the task")
    trace_id: str
    crew: str | None
    agent: str | None
    task: str | None
    llm_calls: int | None = None
    tool_calls: int | None = None


class TaskListResponse(Paged):
    tasks: list[TaskSummary]


class TaskDetail(TreeDetail, TaskSummary):
    cost_usd: float | None = Field(None, description="sum over its LLM calls; null if unpriced")
    spans: list[SpanNode] = Field(description="the task span with its steps, tools and LLM calls")
