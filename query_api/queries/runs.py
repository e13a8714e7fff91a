"""Runs (crew kickoffs): list with filters and detail with the span tree."""

from __future__ import annotations

import json
from typing import Any

from crewscope.query_api.models.runs import RunDetail, RunListResponse, RunSummary
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


def run_filters(crew: str | None = None, started: Started = UNFILTERED) -> Where:
    where = Where().add('NOT "IsFlow"')
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
        run_id=row["TraceId"],
        span_id=row["SpanId"],
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
    where = Where().add('"TraceId" = $run_id AND NOT "IsFlow"', run_id=run_id)
    row = s.one(named("reads/run_list"), {"limit": 1, "offset": 0}, where=where)
    if row is None:
        return None
    roots, errors = fetch_tree(s, run_id, row["Timestamp"], row["EndTime"])
    return RunDetail(
        **_summary(row).model_dump(),
        output_preview=row["OutputPreview"],
        counts=_counts(row),
        errors=errors,
        spans=roots,
    )
