"""Runs: crew kickoffs (one trace each)."""

from __future__ import annotations

from fastapi import APIRouter

from crewscope.query_api.deps import CrewName, PageDep, SessionDep, StartedDep, TraceId, found
from crewscope.query_api.models.runs import RunDetail, RunListResponse
from crewscope.query_api.queries.runs import get_run, list_runs, run_filters

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("", response_model=RunListResponse)
def read_runs(
    session: SessionDep, *, crew: CrewName = None, started: StartedDep, page: PageDep
) -> RunListResponse:
    """List crew runs, newest first."""
    return list_runs(session, run_filters(crew, started), page.limit, page.offset)


@router.get("/{run_id}", response_model=RunDetail)
def read_run(session: SessionDep, run_id: TraceId) -> RunDetail:
    """One run with its span tree: tasks, steps, tool calls and LLM calls."""
    return found(get_run(session, run_id), "run", run_id)
