"""Task executions (invoke_agent spans): list with filters and detail with the span tree."""

from __future__ import annotations

from typing import Any

from crewscope.query_api.models.spans import SpanCounts
from crewscope.query_api.models.tasks import TaskDetail, TaskListResponse, TaskSummary
from crewscope.query_api.queries.executions import (
    UNFILTERED,
    Started,
    execution_fields,
    page,
    stored_or_counted,
)
from crewscope.query_api.queries.rows import as_api
from crewscope.query_api.queries.span_tree import fetch_tree, subtree_totals
from crewscope.query_api.store.query import Where, named
from crewscope.query_api.store.session import Session

TASK_BY_ID = named("reads/task_by_id")


def task_filters(
    crew: str | None = None,
    agent: str | None = None,
    task: str | None = None,
    run_id: str | None = None,
    started: Started = UNFILTERED,
) -> Where:
    where = Where()
    where.add_if(crew, '"CrewName" = $crew', "crew")
    where.add_if(agent, '"AgentName" = $agent', "agent")
    where.add_if(task, '"TaskName" = $task', "task")
    where.add_if(run_id, '($run_id IN ("RootRunId", "RunId") OR "TraceId" = $run_id)', "run_id")
    return started.where(where)


def _summary(row: dict[str, Any], counts: SpanCounts | None) -> TaskSummary:
    return TaskSummary(
        task_id=row["SpanId"],
        run_id=row["RootRunId"],
        crew_run_id=row["RunId"],
        **as_api(row, "AgentName", "TaskName"),
        **execution_fields(row),
        llm_calls=stored_or_counted(row["LlmCalls"], counts.llm_calls if counts else None),
        tool_calls=stored_or_counted(row["ToolCalls"], counts.tool_calls if counts else None),
    )


def list_tasks(s: Session, where: Where, limit: int, offset: int) -> TaskListResponse:
    total, rows = page(s, "crewscope_tasks", "reads/task_list", where, limit, offset)
    return TaskListResponse(
        tasks=[_summary(r, None) for r in rows], total=total, limit=limit, offset=offset
    )


def get_task(s: Session, task_id: str) -> TaskDetail | None:
    """A task with its subtree; counts and tree read in one transaction (one snapshot)."""
    with s.transaction():
        return _get_task(s, task_id)


def _get_task(s: Session, task_id: str) -> TaskDetail | None:
    row = s.one(TASK_BY_ID, {"task_id": task_id})
    if row is None:
        return None
    start, end, trace_id = row["Timestamp"], row["EndTime"], row["TraceId"]
    roots, errors = fetch_tree(s, trace_id, start, end, root_id=task_id)
    counts, cost = subtree_totals(roots[0]) if roots else (SpanCounts(), None)
    return TaskDetail(
        **_summary(row, counts).model_dump(),
        cost_usd=cost,
        output_preview=row["OutputPreview"],
        counts=counts,
        errors=errors,
        spans=roots,
    )
