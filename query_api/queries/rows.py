"""Rows to response models: columns named like the model's fields, a few values converted."""

from __future__ import annotations

import math
from typing import Any, TypeVar

from pydantic import BaseModel

from crewscope.query_api.dates import as_utc

M = TypeVar("M", bound=BaseModel)


def from_row(model: type[M], row: dict[str, Any], *utc: str, **values: Any) -> M:
    """`model` from `row` (other columns ignored): the `utc` columns as aware datetimes
    (None stays None), `values` in place of the row's."""
    times = {k: None if row[k] is None else as_utc(row[k]) for k in utc}
    return model(**{**row, **times, **values})


API_NAME = {
    "TraceId": "trace_id", "SpanId": "span_id", "RunId": "run_id", "RootRunId": "root_run_id",
    "ParentRunId": "parent_run_id", "Kind": "kind", "Name": "name", "FlowMethod": "flow_method",
    "CrewName": "crew", "AgentName": "agent", "TaskName": "task", "ToolName": "tool",
    "Model": "model", "ProviderName": "provider", "InputTokens": "input_tokens",
    "OutputTokens": "output_tokens", "CostUsd": "cost_usd", "ErrorType": "error_type",
    "ServiceName": "service", "ScopeName": "scope", "EventName": "event_name",
    "GenAiOperation": "operation",
}  # fmt: skip
"""The field of a response model a stored column is answered as, wherever it is answered
as is (a task's run is its top-level run: ``RootRunId``, not this table's ``RunId``)."""


def as_api(row: dict[str, Any], *columns: str) -> dict[str, Any]:
    """The row's `columns` under their `API_NAME`s, as keyword arguments of a model."""
    return {API_NAME[c]: row[c] for c in columns}


def to_int(value: Any) -> int | None:
    """A count as an int; None for None and for NaN or infinite samples (stored as sent)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return int(value)
