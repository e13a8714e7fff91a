"""Runs: list and detail."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from crewscope.query_api.models.common import Execution, Paged
from crewscope.query_api.models.spans import SpanNode, TreeDetail


class RunSummary(Execution):
    """A crew kickoff (one trace)."""

    run_id: str = Field(description="the trace id")
    span_id: str
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
    spans: list[SpanNode] = Field(description="span tree roots (normally the crew span)")
