"""Logs: a run's and a task's log records, records across runs, an agent's activity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from crewscope.query_api.deps import (
    INSTANT_DOC,
    INVALID,
    NOT_FOUND,
    FreshSessionDep,
    Instant,
    PageDep,
    RunId,
    SessionDep,
    check_range,
    found,
    not_found,
)
from crewscope.query_api.models.logs import AgentActivity, LogListResponse, LogSeverity
from crewscope.query_api.queries.agents import agent_exists
from crewscope.query_api.queries.logs import (
    LogFilters,
    agent_activity,
    list_logs,
    run_logs_where,
    task_logs_where,
)
from crewscope.query_api.store.query import Where

router = APIRouter(tags=["logs"], responses=INVALID)

Severity = Annotated[
    LogSeverity | None,
    Query(description="minimum level: debug, info, warn, error or fatal"),
]
Text = Annotated[
    str | None,
    Query(min_length=1, max_length=500, description="text in the body (case-insensitive)"),
]


def get_filters(severity: Severity = None, q: Text = None) -> LogFilters:
    return LogFilters(severity=severity, q=q)


FiltersDep = Annotated[LogFilters, Depends(get_filters)]


@router.get("/runs/{run_id}/logs", response_model=LogListResponse, responses=NOT_FOUND)
def read_run_logs(
    session: FreshSessionDep, run_id: RunId, filters: FiltersDep, page: PageDep
) -> LogListResponse:
    """The run's log records, oldest first: those emitted in the run (or in runs nested in
    it, for a top-level run), and those of its trace within the run's time window that
    name no run."""
    where = found(run_logs_where(session, run_id, filters), "run", run_id, "run_id")
    return list_logs(session, where, page.limit, page.offset)


@router.get("/tasks/{task_id}/logs", response_model=LogListResponse, responses=NOT_FOUND)
def read_task_logs(
    session: FreshSessionDep,
    task_id: Annotated[str, Path(pattern="^[0-9a-f]{16}$", description="the task's span id")],
    filters: FiltersDep,
    page: PageDep,
) -> LogListResponse:
    """The task's log records, oldest first: emitted in its span or any span beneath it."""
    where = found(task_logs_where(session, task_id, filters), "task", task_id, "task_id")
    return list_logs(session, where, page.limit, page.offset)


@router.get("/logs", response_model=LogListResponse)
def read_logs(
    session: SessionDep,
    filters: FiltersDep,
    page: PageDep,
    *,
    service: Annotated[str | None, Query(description="service.name")] = None,
    agent: Annotated[str | None, Query(description="agent role")] = None,
    crew: Annotated[str | None, Query(description="crew name")] = None,
    start: Annotated[Instant | None, Query(description=f"at or after; {INSTANT_DOC}")] = None,
    end: Annotated[Instant | None, Query(description=f"at or before; {INSTANT_DOC}")] = None,
) -> LogListResponse:
    """Log records across runs, newest first."""
    check_range(start, end)
    scoped = LogFilters(
        severity=filters.severity, q=filters.q, service=service, agent=agent, crew=crew,
        start=start, end=end,
    )  # fmt: skip
    return list_logs(session, scoped.where(Where()), page.limit, page.offset, newest_first=True)


@router.get("/agents/{agent}/activity", response_model=AgentActivity, responses=NOT_FOUND)
def read_agent_activity(
    session: FreshSessionDep,
    agent: Annotated[str, Path(min_length=1, max_length=500, description="agent role")],
    limit: Annotated[int, Query(ge=1, le=500, description="lines, 1..500")] = 50,
) -> AgentActivity:
    """The agent's last `limit` activity lines, newest first: task starts and ends, steps,
    tool calls with their status, LLM calls with tokens, and its log records at WARNING or
    above."""
    activity = agent_activity(session, agent, limit)
    if not activity.activity and not agent_exists(session, agent):
        raise not_found("agent", agent, "agent")
    return activity
