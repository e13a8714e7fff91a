"""Tasks: task executions by agents (invoke_agent spans)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from crewscope.query_api.deps import (
    INVALID,
    NOT_FOUND,
    CatchUpDep,
    CrewName,
    PageDep,
    SessionDep,
    StartedDep,
    found,
)
from crewscope.query_api.models.tasks import TaskDetail, TaskListResponse
from crewscope.query_api.queries.tasks import get_task, list_tasks, task_filters

RunOrTraceQ = Annotated[
    str | None,
    Query(
        pattern="^([0-9a-f]{16}|[0-9a-f]{32})$",
        description="a run (its tasks, nested crew runs' included) or a trace id",
    ),
]

router = APIRouter(prefix="/tasks", tags=["tasks"], responses=INVALID)


@router.get("", response_model=TaskListResponse)
def read_tasks(
    session: SessionDep,
    *,
    crew: CrewName = None,
    agent: Annotated[str | None, Query(description="agent role")] = None,
    task: Annotated[str | None, Query(description="task name")] = None,
    run_id: RunOrTraceQ = None,
    started: StartedDep,
    page: PageDep,
) -> TaskListResponse:
    """List task executions, newest first."""
    where = task_filters(crew, agent, task, run_id, started)
    return list_tasks(session, where, page.limit, page.offset)


@router.get("/{task_id}", response_model=TaskDetail, responses=NOT_FOUND)
def read_task(
    session: SessionDep,
    catch_up: CatchUpDep,
    task_id: Annotated[str, Path(pattern="^[0-9a-f]{16}$", description="the span id")],
) -> TaskDetail:
    """One task execution with its steps, tool calls, LLM calls and errors."""
    return found(catch_up(lambda: get_task(session, task_id)), "task", task_id)
