"""Process stats, token/cost and execution time series, success rate per agent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crewscope.query_api.deps import INVALID, CrewQ, Range, SessionDep
from crewscope.query_api.models.common import TimeRange
from crewscope.query_api.models.runs import RunKind
from crewscope.query_api.models.series import (
    ExecutionSeriesResponse,
    ProcessSeriesResponse,
    ProcessStatsResponse,
    RunSeriesResponse,
    SeriesGroupBy,
    SuccessRateResponse,
    TokenSeriesResponse,
)
from crewscope.query_api.queries.metrics import (
    execution_series,
    process_series,
    process_stats,
    run_series,
    success_rates,
    token_series,
)
from crewscope.query_api.routes.params import AgentCrewDep, ProcessDep, WindowDep

router = APIRouter(prefix="/metrics", tags=["metrics"], responses=INVALID)

GroupByQ = Annotated[SeriesGroupBy, Query(description="none, model, agent or crew")]
ModelQ = Annotated[str | None, Query(description="only this model")]
RunKindQ = Annotated[RunKind | None, Query(description="only flow, crew or agent runs")]
RunNameQ = Annotated[str | None, Query(description="only this flow, crew or agent name")]


@router.get("/process", response_model=ProcessStatsResponse)
def read_process_stats(
    session: SessionDep, time_range: Range = TimeRange.D1, *, process: ProcessDep
) -> ProcessStatsResponse:
    """The latest CPU, memory, thread and file-descriptor sample per process (service, PID)."""
    return process_stats(session, time_range, **process.kwargs())


@router.get("/process/series", response_model=ProcessSeriesResponse)
def read_process_series(
    session: SessionDep, process: ProcessDep, window: WindowDep
) -> ProcessSeriesResponse:
    """Process stats per bucket; CPU as a rate of the cumulative ``process.cpu.time``."""
    return process_series(session, window, **process.kwargs())


@router.get("/tokens/series", response_model=TokenSeriesResponse)
def read_token_series(
    session: SessionDep,
    scope: AgentCrewDep,
    window: WindowDep,
    group_by: GroupByQ = SeriesGroupBy.NONE,
    model: ModelQ = None,
) -> TokenSeriesResponse:
    """LLM calls, input/output tokens and cost (SUM of CostUsd) per bucket."""
    return token_series(session, window, group_by, model, **scope.kwargs())


@router.get("/executions/series", response_model=ExecutionSeriesResponse)
def read_execution_series(
    session: SessionDep, scope: AgentCrewDep, window: WindowDep
) -> ExecutionSeriesResponse:
    """Task executions per agent and bucket: counts, success rate, latency, tokens."""
    return execution_series(session, window, **scope.kwargs())


@router.get("/runs/series", response_model=RunSeriesResponse)
def read_run_series(
    session: SessionDep, window: WindowDep, kind: RunKindQ = None, name: RunNameQ = None
) -> RunSeriesResponse:
    """Top-level runs per bucket, by kickoff start time (as ``GET /runs`` lists them): runs,
    successful, failed, avg and p95 duration, tokens, cost. Buckets without a run are left
    out."""
    return run_series(session, window, kind, name)


@router.get("/success-rate", response_model=SuccessRateResponse)
def read_success_rate(
    session: SessionDep, time_range: Range = TimeRange.D1, crew: CrewQ = None
) -> SuccessRateResponse:
    """The ``agent_success_rate`` gauge per agent (also on ``/metrics``)."""
    return success_rates(session, time_range, crew)
