"""Runs: flow, crew and agent kickoffs, top-level or nested."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crewscope.query_api.deps import (
    INVALID,
    NOT_FOUND,
    CatchUpDep,
    CrewName,
    PageDep,
    RunId,
    SessionDep,
    StartedDep,
    found,
)
from crewscope.query_api.models.runs import (
    RunDetail,
    RunKind,
    RunListResponse,
    RunSort,
    SortOrder,
)
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
    agent: Annotated[
        str | None,
        Query(
            description="only the runs in which this agent (gen_ai.agent.name) ran a task, "
            "in the run itself or in a run nested in it (a crew run of a flow)"
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="text in the run's name, crew, run id or error message: a "
            "case-insensitive substring, taken literally (% and _ are no wildcards); "
            "empty: no filter",
        ),
    ] = None,
    sort: Annotated[
        RunSort,
        Query(
            description="order by start_time, duration_ms, total_tokens, cost_usd, name "
            "(case-insensitive) or status (completed before failed when ascending); runs "
            "without a value last, ties by run_id"
        ),
    ] = RunSort.START_TIME,
    order: Annotated[SortOrder, Query(description="asc or desc")] = SortOrder.DESC,
    started: StartedDep,
    page: PageDep,
) -> RunListResponse:
    """List runs, newest first unless `sort`/`order` say otherwise: top-level flow, crew and
    agent kickoffs by default. `total` counts every run that passes the filters."""
    where = run_filters(
        crew, started, kind=kind, name=name, parent_run_id=parent_run_id,
        include_nested=include_nested, agent=agent, q=q,
    )  # fmt: skip
    return list_runs(session, where, page.limit, page.offset, sort, order)


@router.get("/{run_id}", response_model=RunDetail, responses=NOT_FOUND)
def read_run(session: SessionDep, catch_up: CatchUpDep, run_id: RunId) -> RunDetail:
    """One run with its subtree (flow methods, crews, tasks, steps, tools, LLM calls), its totals
    and the runs nested in it."""
    return found(catch_up(lambda: get_run(session, run_id)), "run", run_id)
