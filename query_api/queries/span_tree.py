"""Span trees and subtree totals for run and task details."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crewscope.exporter.operations import LLM_OPERATIONS
from crewscope.query_api.dates import as_utc
from crewscope.query_api.models.spans import ErrorInfo, SpanCounts, SpanEvent, SpanNode
from crewscope.query_api.queries.rows import as_api
from crewscope.query_api.queries.span_inherit import inherit
from crewscope.query_api.store.query import named
from crewscope.query_api.store.session import Session

CLOCK_SKEW = timedelta(seconds=5)
LAST_NS = datetime(2262, 4, 11, 23, 47, 16, 854775)
"""The latest instant a nanosecond timestamp holds (to the microsecond)."""
"""Margin around a span's window when fetching its descendants (spans from other hosts)."""

MAX_VALUE_CHARS = 1000
_STATUS = {"Ok": "ok", "Error": "error"}


def _cut(mapping: dict[str, Any] | None) -> dict[str, str]:
    return {k: str(v)[:MAX_VALUE_CHARS] for k, v in (mapping or {}).items() if v is not None}


def _node(row: dict[str, Any]) -> SpanNode:
    start: datetime = row["Timestamp"]
    duration_ms = row["Duration"] / 1e6
    return SpanNode(
        span_id=row["SpanId"],
        parent_span_id=row["ParentSpanId"] or None,
        name=row["SpanName"],
        kind=row["SpanKind"],
        status=_STATUS.get(row["StatusCode"], "unset"),
        status_message=row["StatusMessage"] or None,
        **as_api(row, "GenAiOperation", "ErrorType"),
        start_time=as_utc(start),
        end_time=as_utc(start + timedelta(milliseconds=duration_ms)),
        duration_ms=duration_ms,
        **as_api(row, "AgentName", "TaskName", "ToolName", "Model", "ProviderName"),
        **as_api(row, "InputTokens", "OutputTokens", "CostUsd"),
        attributes=_cut(row["SpanAttributes"]),
        events=[
            SpanEvent(name=e["Name"], time=as_utc(e["Timestamp"]), attributes=_cut(e["Attributes"]))
            for e in row["Events"] or ()
        ],
    )


def _in_cycle(node: SpanNode, nodes: dict[str, SpanNode]) -> bool:
    """Whether `node`'s parent chain leads back to it (bad data: A's parent B, B's parent A);
    such a node is shown as a root, so the tree stays a tree."""
    seen = {node.span_id}
    parent = nodes.get(node.parent_span_id or "")
    while parent is not None:
        if parent.span_id in seen:
            return parent.span_id == node.span_id
        seen.add(parent.span_id)
        parent = nodes.get(parent.parent_span_id or "")
    return False


def fetch_tree(
    s: Session,
    trace_id: str,
    start: datetime,
    end: datetime,
    root_id: str | None = None,
    *,
    synced_only: bool = False,
) -> tuple[list[SpanNode], list[ErrorInfo]]:
    """The trace's spans in [start, end] as trees; only `root_id`'s subtree if given.

    `synced_only` (DuckDB): only the spans the projections have copied; read in the same
    transaction as totals from the projection tables, the tree is what they count."""
    last = LAST_NS.replace(tzinfo=end.tzinfo)  # the window stays within what the engine holds
    hi = end + CLOCK_SKEW if end < last - CLOCK_SKEW else last
    rows = s.rows(
        named("reads/trace_spans"),
        {"trace_id": trace_id, "lo": start - CLOCK_SKEW, "hi": hi, "synced_only": synced_only},
    )
    nodes = {row["SpanId"]: _node(row) for row in rows}
    inherit(nodes)  # a peer's spans stored before their enclosing span: what it names
    roots: list[SpanNode] = []
    for node in nodes.values():  # rows are in start order, so children stay in start order
        parent = nodes.get(node.parent_span_id or "")
        if parent is not None and not _in_cycle(node, nodes):
            parent.children.append(node)
        else:
            roots.append(node)
    if root_id is not None:
        roots = [nodes[root_id]] if root_id in nodes else []
    errors: list[ErrorInfo] = []
    stack = list(reversed(roots))
    while stack:  # pre-order walk: errors listed in tree order
        node = stack.pop()
        if node.status == "error":
            errors.append(
                ErrorInfo(
                    span_id=node.span_id,
                    span_name=node.name,
                    error_type=node.error_type,
                    message=node.status_message,
                )
            )
        stack.extend(reversed(node.children))
    return roots, errors


def subtree_totals(root: SpanNode) -> tuple[SpanCounts, float | None]:
    """Span counts and LLM cost of the tree under `root`, itself included: of the spans the
    tree shows (a span stored twice counts once); the cost None when no call has one."""
    counts = SpanCounts()
    costs: list[float] = []
    stack = [root]
    while stack:
        node = stack.pop()
        counts.spans += 1
        counts.tasks += node.operation == "invoke_agent"
        counts.steps += node.name.startswith("step ")
        counts.tool_calls += node.operation == "execute_tool"
        counts.errors += node.status == "error"
        if node.operation in LLM_OPERATIONS:
            counts.llm_calls += 1
            if node.cost_usd is not None:
                costs.append(node.cost_usd)
        stack.extend(node.children)
    return counts, sum(costs) if costs else None
