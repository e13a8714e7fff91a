"""Flows: runs, success rate, latency, tokens and cost per flow, executions per method."""

from __future__ import annotations

from enum import Enum

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


class FlowCondition(str, Enum):
    """How a flow method's triggers combine: any of them (or) or all of them (and)."""

    OR = "or"
    AND = "and"


class FlowNode(BaseModel):
    """One method of a flow (its definition, recorded at kickoff) and its executions in one run."""

    method: str
    start: bool = Field(description="a start method (also a conditional start)")
    router: bool = Field(description="a router: its return value is a label listeners wait for")
    listen_to: list[str] = Field(
        description="every method name or router label in its trigger condition, in the "
        "order written (empty for a start method without a condition)"
    )
    condition: FlowCondition | None = Field(
        description="how listen_to combine (the outermost operator of a nested condition); "
        "null for a single trigger or none"
    )
    emits: list[str] = Field(
        description="a router's declared labels (emit=, a Literal return type); empty when "
        "it declares none"
    )
    executions: int = Field(description="flow_method spans of this method in the run")
    failed: int = Field(description="those that ended in error")
    avg_ms: float | None = Field(description="their mean duration; null without executions")


class FlowEdge(BaseModel):
    """A trigger: `target` listens to `source` (its completion, or a label it returns)."""

    source: str = Field(description="the method that triggers")
    target: str = Field(description="the listener")
    label: str | None = Field(
        description="the router label the listener waits for; null when it waits for the "
        "method itself to complete"
    )


class FlowGraph(BaseModel):
    """A flow run's methods and triggers (``crewscope.flow.graph``) with its executions.

    Edges: a method to each listener naming it; a router to each listener naming a label it
    declares; a label no router declares (and that names no method) to every router that
    declares no labels (CrewAI cannot say which of them returns it).
    """

    nodes: list[FlowNode] = Field(description="in definition order")
    edges: list[FlowEdge]
