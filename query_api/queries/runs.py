"""Runs (flow, crew and agent kickoffs): list with filters, detail with the run's subtree."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crewscope.query_api.models.flows import FlowCondition, FlowEdge, FlowGraph, FlowNode
from crewscope.query_api.models.runs import (
    RunDetail,
    RunKind,
    RunListResponse,
    RunSort,
    RunSummary,
    SortOrder,
)
from crewscope.query_api.models.spans import SpanCounts
from crewscope.query_api.queries.executions import (
    COUNT_WHERE,
    UNFILTERED,
    Started,
    execution_fields,
    span_counts,
    stored_or_counted,
)
from crewscope.query_api.queries.rows import as_api
from crewscope.query_api.queries.span_tree import CLOCK_SKEW, fetch_tree
from crewscope.query_api.store.query import Ident, Query, Where, named
from crewscope.query_api.store.session import Row, Session

MAX_INPUT_VALUE_CHARS = 100
MAX_NESTED_RUNS = 1000

SORT_KEYS = {
    RunSort.START_TIME: Ident("Timestamp"),
    RunSort.DURATION_MS: Ident("DurationMs"),
    RunSort.TOTAL_TOKENS: Ident("TotalTokens"),
    RunSort.COST_USD: Ident("CostUsd"),
    RunSort.NAME: Ident("NameKey"),
    RunSort.STATUS: Ident("Failed"),
}
"""The sort-key column of each ``sort`` (run_sort_keys.sql; cost: run_sort_cost.sql)."""
SORT_SOURCE = named("reads/run_sort_keys")
SORT_COST_SOURCE, _ = named("reads/run_sort_cost").render({"keys": SORT_SOURCE})
RUN_PAGE = named("reads/run_page")
RUN_TOTALS = named("reads/run_totals")
TOTALS = {
    "Spans": "tt_spans", "Tasks": "tt_tasks", "Steps": "tt_steps", "LlmCalls": "tt_llm_calls",
    "ToolCalls": "tt_tool_calls", "Errors": "tt_errors", "CostUsd": "tt_cost_usd",
}  # fmt: skip
"""A run_totals column -> the key a run row holds it under."""

# A run in which the agent ran a task. Listing top-level runs only: the tasks' top-level
# runs. Listing nested runs too: the task's own run (a crew or agent run) and every run it is
# nested in, up to its top-level run (the RootRunId too: tasks written before runs had ids
# name no chain).
AGENT_RAN_TOP = '"SpanId" IN (SELECT "RootRunId" FROM crewscope_tasks WHERE "AgentName" = $agent)'
AGENT_RAN = (
    '"SpanId" IN ('
    'WITH RECURSIVE up("RunId") AS ('
    'SELECT "RunId" FROM crewscope_tasks WHERE "AgentName" = $agent '
    "UNION "
    'SELECT p."ParentRunId" FROM crewscope_runs p JOIN up ON p."SpanId" = up."RunId" '
    'WHERE p."ParentRunId" IS NOT NULL) '
    'SELECT "RunId" FROM up '
    'UNION SELECT "RootRunId" FROM crewscope_tasks WHERE "AgentName" = $agent)'
)
# Substring, case-insensitive, as text (no LIKE pattern: % and _ are themselves).
TEXT_MATCH = (
    '(contains(lower("Name"), lower($q)) OR contains(lower("CrewName"), lower($q)) '
    'OR contains("SpanId", lower($q)) '
    'OR ("Failed" AND contains(lower("StatusMessage"), lower($q))))'
)


def run_filters(
    crew: str | None = None,
    started: Started = UNFILTERED,
    *,
    kind: RunKind | None = None,
    name: str | None = None,
    parent_run_id: str | None = None,
    include_nested: bool = False,
    agent: str | None = None,
    q: str | None = None,
) -> Where:
    """Top-level runs unless `include_nested` (or a `parent_run_id`, whose runs are nested);
    `agent`: runs in which it ran a task (in a nested run too); `q`: text in the name, crew,
    run id or error message (case-insensitive; '' is no filter)."""
    where = Where()
    top_level = parent_run_id is None and not include_nested
    if parent_run_id is not None:
        where.add('"ParentRunId" = $parent_run_id', parent_run_id=parent_run_id)
    elif top_level:
        where.add('"ParentRunId" IS NULL')
    where.add_if(kind.value if kind else None, '"Kind" = $kind', "kind")
    where.add_if(name, '"Name" = $name', "name")
    where.add_if(crew, '"CrewName" = $crew', "crew")
    where.add_if(agent, AGENT_RAN_TOP if top_level else AGENT_RAN, "agent")
    where.add_if(q or None, TEXT_MATCH, "q")
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
        **as_api(row, "SpanId", "Kind", "Name", "ParentRunId", "RootRunId", "FlowMethod"),
        **execution_fields(row),
        total_tokens=sum(tokens) if tokens else None,
        cost_usd=row["tt_cost_usd"],
        task_count=counts.tasks,
        llm_calls=stored_or_counted(row["LlmCalls"], counts.llm_calls),
        input_summary=input_summary(row["InputKeys"], row["Inputs"]),
    )


def _rows(
    s: Session,
    where: Where,
    limit: int,
    offset: int,
    sort: RunSort = RunSort.START_TIME,
    order: SortOrder = SortOrder.DESC,
) -> list[Row]:
    """One page of run rows with their totals, ordered by `sort` (newest first by default)."""
    source: Query = SORT_COST_SOURCE if sort is RunSort.COST_USD else SORT_SOURCE
    params = {"limit": limit, "offset": offset, "desc": order is SortOrder.DESC}
    rows = s.rows(RUN_PAGE, params, runs=source, where=where, sort=SORT_KEYS[sort])
    return _with_totals(s, rows)


def _with_totals(s: Session, rows: list[Row]) -> list[Row]:
    """`rows` with their runs' totals (``tt_*``, None without): a run's own, else its
    trace's (a run whose spans name no run), read in one query for the page (a second
    query: ClickHouse plans the page once instead of once per use in a join)."""
    ids = sorted({r["SpanId"] for r in rows} | {r["TraceId"] for r in rows})
    totals = {t["RunId"]: t for t in s.rows(RUN_TOTALS, {"ids": ids})} if rows else {}
    for r in rows:
        t = totals.get(r["SpanId"]) or totals.get(r["TraceId"])
        r.update({key: t[col] if t else None for col, key in TOTALS.items()})
    return rows


def list_runs(
    s: Session, where: Where, limit: int, offset: int, sort: RunSort, order: SortOrder
) -> RunListResponse:
    with s.transaction():  # one snapshot: the total counts the page's runs
        total = int(s.scalar(COUNT_WHERE, table=Ident("crewscope_runs"), where=where) or 0)
        rows = _rows(s, where, limit, offset, sort, order)
    return RunListResponse(
        runs=[_summary(r) for r in rows], total=total, limit=limit, offset=offset
    )


def get_run(s: Session, run_id: str) -> RunDetail | None:
    """A run by its id; a trace id (how runs were named before) finds the trace's first
    top-level run.

    Read in one transaction, the tree only from the spans the projections have copied: the
    totals and the tree are of the same spans even while the run's spans are arriving (a
    projection sync or an ingest commit between two reads tore them apart)."""
    with s.transaction():
        return _get_run(s, run_id)


@dataclass(frozen=True)
class _Named:
    """The runs a run detail's id names: a run id that run, a trace id (how runs were named
    before) the trace's top-level runs; `or_nested`: those and the runs nested in them."""

    where: Where
    or_nested: Where
    test: Callable[[Row], bool]
    """The same condition as `where`, on a run row."""

    @classmethod
    def of(cls, run_id: str) -> _Named:
        if len(run_id) == 32:
            top = '"TraceId" = $trace_id AND "ParentRunId" IS NULL'
            nested = f'"ParentRunId" IN (SELECT "SpanId" FROM crewscope_runs WHERE {top})'
            return cls(
                Where().add(top, trace_id=run_id),
                Where().add(f"(({top}) OR {nested})", trace_id=run_id),
                lambda r: r["TraceId"] == run_id and r["ParentRunId"] is None,
            )
        return cls(
            Where().add('"SpanId" = $run_id', run_id=run_id),
            Where().add('("SpanId" = $run_id OR "ParentRunId" = $run_id)', run_id=run_id),
            lambda r: r["SpanId"] == run_id,
        )


def _run_and_nested(s: Session, run_id: str) -> tuple[Row, list[Row]] | None:
    """The run `run_id` names (the first one started, if it names several) and its nested
    runs, newest first.

    One read of the runs named and the runs nested in them; only when that is more than
    `MAX_NESTED_RUNS` rows (a page may have cut it) the run, then its nested runs, apart."""
    named_runs = _Named.of(run_id)
    rows = _rows(s, named_runs.or_nested, MAX_NESTED_RUNS + 1, 0)
    whole = len(rows) <= MAX_NESTED_RUNS
    if not whole:
        rows = _rows(s, named_runs.where, MAX_NESTED_RUNS, 0)
    runs = [r for r in rows if named_runs.test(r)]
    if not runs:
        return None
    row = runs[-1]  # newest first: the last one started first
    if whole:
        return row, [r for r in rows if r["ParentRunId"] == row["SpanId"]]
    parent = Where().add('"ParentRunId" = $parent', parent=row["SpanId"])
    return row, _rows(s, parent, MAX_NESTED_RUNS, 0)


def _get_run(s: Session, run_id: str) -> RunDetail | None:
    found = _run_and_nested(s, run_id)
    if found is None:
        return None
    row, nested = found
    roots, errors = fetch_tree(
        s, row["TraceId"], row["Timestamp"], row["EndTime"], row["SpanId"], synced_only=True
    )
    return RunDetail(
        **_summary(row).model_dump(),
        nested_runs=[_summary(r) for r in reversed(nested)],
        output_preview=row["OutputPreview"],
        counts=_counts(row),
        errors=errors,
        spans=roots,
        flow_graph=flow_graph(s, row) if row["Kind"] == RunKind.FLOW.value else None,
    )


def flow_graph(s: Session, row: Row) -> FlowGraph | None:
    """The graph recorded on a flow run's span (``crewscope.flow.graph``) with the run's
    executions per method; None when the span has none (or one that cannot be read)."""
    methods = _recorded_methods(
        s.scalar(
            named("reads/flow_graph"),
            {"trace_id": row["TraceId"], "run_id": row["SpanId"], "start": row["Timestamp"]},
        )
    )
    if methods is None:
        return None
    params = {
        "trace_id": row["TraceId"],
        "run_id": row["SpanId"],
        "lo": row["Timestamp"] - CLOCK_SKEW,
        "hi": row["EndTime"] + CLOCK_SKEW,
    }
    runs = {r["method"]: r for r in s.rows(named("reads/flow_run_methods"), params)}
    nodes = []
    for m in methods:
        listen, emit = m.get("listen"), m.get("emit")
        ran = runs.get(m["name"])
        nodes.append(
            FlowNode(
                method=m["name"],
                start=m.get("start") is True,
                router=m.get("router") is True,
                listen_to=list(dict.fromkeys(_trigger_names(listen))),
                condition=_condition(listen),
                emits=[e for e in emit if isinstance(e, str)] if isinstance(emit, list) else [],
                executions=int(ran["executions"]) if ran else 0,
                failed=int(ran["failed"]) if ran else 0,
                avg_ms=ran["avg_ms"] if ran else None,
            )
        )
    return FlowGraph(nodes=nodes, edges=_edges(nodes))


def _recorded_methods(text: str | None) -> list[dict[str, Any]] | None:
    """The ``methods`` of a recorded graph, each with a string ``name``; None if unreadable."""
    graph = _json(text)
    methods = graph.get("methods") if isinstance(graph, dict) else None
    if not isinstance(methods, list):
        return None
    return [m for m in methods if isinstance(m, dict) and isinstance(m.get("name"), str)]


def _operator(condition: Any) -> tuple[str, list[Any]] | None:
    """("or" | "and", its operands) of a recorded condition; None for a name or nothing."""
    if isinstance(condition, dict) and len(condition) == 1:
        [(key, items)] = condition.items()
        if key in ("or", "and") and isinstance(items, list):
            return key, items
    return None


def _trigger_names(condition: Any) -> list[str]:
    """Every method name or label in a condition, depth first, in the order written."""
    if isinstance(condition, str):
        return [condition]
    op = _operator(condition)
    return [name for item in op[1] for name in _trigger_names(item)] if op else []


def _condition(condition: Any) -> FlowCondition | None:
    op = _operator(condition)
    return FlowCondition(op[0]) if op else None


def _edges(nodes: list[FlowNode]) -> list[FlowEdge]:
    """Method -> listener of its name; router -> listener of a label it declares; a label
    that no router declares and no method is named: from every router declaring none."""
    methods = {n.method for n in nodes}
    routers = [n for n in nodes if n.router]
    undeclared = [r for r in routers if not r.emits]
    edges: dict[tuple[str, str, str | None], None] = {}
    for node in nodes:
        for name in node.listen_to:
            if name in methods:
                edges[(name, node.method, None)] = None
            declaring = [r for r in routers if name in r.emits]
            if not declaring and name not in methods:
                declaring = undeclared
            for router in declaring:
                edges[(router.method, node.method, name)] = None
    return [FlowEdge(source=a, target=b, label=label) for a, b, label in edges]
