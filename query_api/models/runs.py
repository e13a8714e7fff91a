"""Runs: list and detail."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import Field

from crewscope.query_api.models.common import Execution, Paged
from crewscope.query_api.models.flows import FlowGraph
from crewscope.query_api.models.spans import SpanNode, TreeDetail


class RunKind(str, Enum):
    """What was started: a Flow, a crew, or an agent on its own (``Agent.kickoff``)."""

    FLOW = "flow"
    CREW = "crew"
    AGENT = "agent"


class RunSort(str, Enum):
    """What ``GET /runs`` orders by (ties: run id, ascending; NULLs last either way)."""

    START_TIME = "start_time"
    DURATION_MS = "duration_ms"
    TOTAL_TOKENS = "total_tokens"
    COST_USD = "cost_usd"
    NAME = "name"  # case-insensitive
    STATUS = "status"  # completed < failed


class SortOrder(str, Enum):
    ASC = "asc"
    DESC = "desc"


class RunSummary(Execution):
    """A run: one flow, crew or agent kickoff, top-level or nested in another run."""

    run_id: str = Field(description="the run's id (the span id of its kickoff span)")
    trace_id: str = Field(description="the trace the run is part of (a trace may hold several)")
    span_id: str = Field(description="the kickoff span (same as run_id)")
    kind: RunKind
    name: str | None = Field(description="flow, crew or agent name")
    parent_run_id: str | None = Field(
        None, description="the run this one is nested in (a crew run of a flow); null if top-level"
    )
    root_run_id: str = Field(description="the top-level run (run_id itself when top-level)")
    flow_method: str | None = Field(None, description="the flow method a nested crew ran under")
    crew: str | None
    total_tokens: int | None = None
    cost_usd: float | None = Field(None, description="sum over LLM calls; null if no known price")
    task_count: int = 0
    llm_calls: int | None = None
    input_summary: dict[str, Any] | None = Field(
        None, description="input keys, with small values when content capture was on"
    )


class RunListResponse(Paged):
    runs: list[RunSummary]


class RunDetail(TreeDetail, RunSummary):
    nested_runs: list[RunSummary] = Field(
        default_factory=list, description="crew runs started inside this run, in start order"
    )
    spans: list[SpanNode] = Field(description="the run's span tree (its kickoff span and below)")
    flow_graph: FlowGraph | None = Field(
        None,
        description="a flow run's methods, their triggers and executions; null for crew and "
        "agent runs and for flows recorded without crewscope.flow.graph",
    )
