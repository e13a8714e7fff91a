"""Runs (flow, crew and agent kickoffs): list with filters, detail with the run's subtree."""

from __future__ import annotations

import json
from typing import Any

from crewscope.query_api.models.runs import RunDetail, RunKind, RunListResponse, RunSummary
from crewscope.query_api.models.spans import SpanCounts
from crewscope.query_api.queries.executions import (
    UNFILTERED,
    Started,
    execution_fields,
    page,
    span_counts,
)
from crewscope.query_api.queries.span_tree import fetch_tree
from crewscope.query_api.store.query import Where, named
from crewscope.query_api.store.session import Session

MAX_INPUT_VALUE_CHARS = 100
MAX_NESTED_RUNS = 1000


def run_filters(
    crew: str | None = None,
    started: Started = UNFILTERED,
    *,
    kind: RunKind | None = None,
    name: str | None = None,
    parent_run_id: str | None = None,
    include_nested: bool = False,
) -> Where:
    """Top-level runs unless `include_nested` (or a `parent_run_id`, whose runs are nested)."""
    where = Where()
    if parent_run_id is not None:
        where.add('"ParentRunId" = $parent_run_id', parent_run_id=parent_run_id)
    elif not include_nested:
        where.add('"ParentRunId" IS NULL')
    where.add_if(kind.value if kind else None, '"Kind" = $kind', "kind")
    where.add_if(name, '"Name" = $name', "name")
    where.add_if(crew, '"CrewName" = $crew', "crew")
    return started.where(where)


def input_summary(keys_json: str | None, inputs_json: str | None) -> dict[str, Any] | None:
    """Input keys with small scalar values; long values are replaced by their length."""
    values = _json(inputs_json)
    if isinstance(values, dict):
        return {str(k): _small(v) for k, v in values.items()}
    keys = _json(keys_json)
    if isinstance(keys, list):
        return {str(k): None for k in keys}
    if keys_json:
        return {k.strip(): None for k in keys_json.split(",") if k.strip()}
    return None


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _small(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= MAX_INPUT_VALUE_CHARS else f"<{len(text)} characters>"


def _counts(row: dict[str, Any]) -> SpanCounts:
    return SpanCounts() if row["tt_spans"] is None else span_counts(row, prefix="tt_")


def _summary(row: dict[str, Any]) -> RunSummary:
    counts = _counts(row)
    tokens = [t for t in (row["InputTokens"], row["OutputTokens"]) if t is not None]
    return RunSummary(
        run_id=row["SpanId"],
        trace_id=row["TraceId"],
        span_id=row["SpanId"],
        kind=row["Kind"],
        name=row["Name"],
        parent_run_id=row["ParentRunId"],
        root_run_id=row["RootRunId"],
        flow_method=row["FlowMethod"],
        crew=row["CrewName"],
        **execution_fields(row),
        total_tokens=sum(tokens) if tokens else None,
        cost_usd=row["tt_cost_usd"],
        task_count=counts.tasks,
        llm_calls=row["LlmCalls"] if row["LlmCalls"] is not None else counts.llm_calls,
        input_summary=input_summary(row["InputKeys"], row["Inputs"]),
    )


def list_runs(s: Session, where: Where, limit: int, offset: int) -> RunListResponse:
    total, rows = page(s, "crewscope_runs", "reads/run_list", where, limit, offset)
    return RunListResponse(
        runs=[_summary(r) for r in rows], total=total, limit=limit, offset=offset
    )


def get_run(s: Session, run_id: str) -> RunDetail | None:
    """A run by its id; a trace id (how runs were named before) finds the trace's first
    top-level run."""
    if len(run_id) == 32:
        where = Where().add('"TraceId" = $trace_id AND "ParentRunId" IS NULL', trace_id=run_id)
    else:
        where = Where().add('"SpanId" = $run_id', run_id=run_id)
    rows = s.rows(named("reads/run_list"), {"limit": MAX_NESTED_RUNS, "offset": 0}, where=where)
    if not rows:
        return None
    row = rows[-1]  # newest first: the last one started first
    roots, errors = fetch_tree(s, row["TraceId"], row["Timestamp"], row["EndTime"], row["SpanId"])
    nested = s.rows(
        named("reads/run_list"),
        {"limit": MAX_NESTED_RUNS, "offset": 0},
        where=Where().add('"ParentRunId" = $parent', parent=row["SpanId"]),
    )
    return RunDetail(
        **_summary(row).model_dump(),
        nested_runs=[_summary(r) for r in reversed(nested)],
        output_preview=row["OutputPreview"],
        counts=_counts(row),
        errors=errors,
        spans=roots,
    )
