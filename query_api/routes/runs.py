"""Runs: crew kickoffs (one trace each)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from crewscope.query_api.deps import (
    Limit,
    Offset,
    SessionDep,
    StartFrom,
    StartTo,
    Status,
    check_range,
    not_found,
)
from crewscope.query_api.models.runs import RunDetail, RunListResponse
from crewscope.query_api.queries.runs import get_run, list_runs, run_filters

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("", response_model=RunListResponse)
def read_runs(
    session: SessionDep,
    crew: Annotated[str | None, Query(description="crew name")] = None,
    status: Status = None,
    start_date_from: StartFrom = None,
    start_date_to: StartTo = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> RunListResponse:
    """List crew runs, newest first."""
    check_range(start_date_from, start_date_to)
    where = run_filters(crew, status, start_date_from, start_date_to)
    return list_runs(session, where, limit, offset)


@router.get("/{run_id}", response_model=RunDetail)
def read_run(
    session: SessionDep,
    run_id: Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="the trace id")],
) -> RunDetail:
    """One run with its span tree: tasks, steps, tool calls and LLM calls."""
    run = get_run(session, run_id)
    if run is None:
        raise not_found("run", run_id)
    return run
