"""Flows: analytics per flow and per flow method."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crewscope.query_api.deps import INVALID, Range, SessionDep
from crewscope.query_api.models.common import TimeRange
from crewscope.query_api.models.flows import FlowListResponse
from crewscope.query_api.queries.flows import flow_stats

router = APIRouter(prefix="/flows", tags=["flows"], responses=INVALID)


@router.get("", response_model=FlowListResponse)
def read_flows(
    session: SessionDep,
    time_range: Range = TimeRange.D7,
    flow: Annotated[str | None, Query(description="only this flow")] = None,
) -> FlowListResponse:
    """Per flow: runs, success rate, p50/p95/p99 duration, tokens, cost, crew runs it
    started, and executions per method."""
    return flow_stats(session, time_range, flow)
