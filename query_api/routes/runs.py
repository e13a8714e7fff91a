"""Runs: flow, crew and agent kickoffs, top-level or nested."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crewscope.query_api.deps import (
    INVALID,
    NOT_FOUND,
    CrewName,
    PageDep,
    RunId,
    SessionDep,
    StartedDep,
    found,
)
from crewscope.query_api.models.runs import RunDetail, RunKind, RunListResponse
from crewscope.query_api.queries.runs import get_run, list_runs, run_filters

router = APIRouter(prefix="/runs", tags=["runs"], responses=INVALID)


@router.get("", response_model=RunListResponse)
def read_runs(
    session: SessionDep,
    *,
    kind: Annotated[RunKind | None, Query(description="flow, crew or agent")] = None,
    name: Annotated[str | None, Query(description="flow, crew or agent name")] = None,
    crew: CrewName = None,
    parent_run_id: Annotated[
        str | None,
        Query(pattern="^[0-9a-f]{16}$", description="only the runs nested in this run"),
    ] = None,
    include_nested: Annotated[
        bool, Query(description="also the crew runs nested in flows (default: top-level only)")
    ] = False,
    started: StartedDep,
    page: PageDep,
) -> RunListResponse:
    """List runs, newest first: top-level flow, crew and agent kickoffs by default."""
    where = run_filters(
        crew, started, kind=kind, name=name, parent_run_id=parent_run_id,
        include_nested=include_nested,
    )  # fmt: skip
    return list_runs(session, where, page.limit, page.offset)


@router.get("/{run_id}", response_model=RunDetail, responses=NOT_FOUND)
def read_run(session: SessionDep, run_id: RunId) -> RunDetail:
    """One run with its subtree (flow methods, crews, tasks, steps, tools, LLM calls), its totals
    and the runs nested in it."""
    return found(get_run(session, run_id), "run", run_id)
