"""Agent, task and crew of other instrumentations' spans whose enclosing span lands after them.

Other instrumentations' LLM-call, tool and task spans name no agent, task or crew of their
own: row conversion gives them those of their nearest enclosing spans that name them
(`exporter.peer_traces`), but only when those spans are in the same export batch or an
earlier one. An enclosing span ends, and is exported, after what it encloses, so calls
exported in an earlier batch (the agent's work outlasted the exporter's schedule delay) are
stored without an agent or crew, and tasks without their crew. The projection sync fills
them in, in the same transaction as the rows it copies (`fill_late_agents`, after the row
projections and the sums of the window):

1. the window's spans that name an agent or a crew, and the stored tasks and crew runs
   around the window's own spans missing something, are matched with the stored spans of
   other instrumentations (scope not crewscope's) that start inside them in the same trace:
   LLM and tool calls without an agent or a crew, tasks without a crew
   (``late_agent_pairs.sql``);
2. each matched span takes the agent, task and crew of its nearest ancestors naming them
   (its own first), walking up the parent ids of its trace in ``otel_traces``
   (``late_agents.sql``; the enclosing span's start bounds the spans read); a task keeps
   its own agent;
3. the LLM calls given an agent, and their cost, move from the no-agent bucket to the agent
   in ``crewscope_agent_hourly`` (``deltas/agent_hourly_moves.sql``; no-agent rows left
   empty are removed, ``late_hourly_*.sql``), the rows of ``crewscope_llm_calls`` /
   ``crewscope_tool_calls`` get the agent (``late_agent_fill.sql``), those of
   ``crewscope_tasks`` the task and crew (``late_task_fill.sql``), and the spans themselves
   in ``otel_traces`` all three (``late_span_fill.sql``, an update in place: rowids stay).

So every read answers as if the spans had arrived in one batch: the projections and hourly
sums, and the reads of ``otel_traces`` itself (an agent's activity, a run's span tree, the
agent list's crew, series by agent or crew). A rebuild (one window over every span) copies
the filled spans and gives the same tables.

Cost: nothing while no span of another instrumentation missing an agent or crew was ever
synced (crewscope's own spans name theirs): the sync keeps that as a flag beside its
watermark (`projections`), and its count query tells whether the window holds such a span.
Once one was, each window with spans naming an agent or crew reads its bounds and matches
the spans missing something in that time range (a few row groups); the walk, the moves and
the updates run only for matches.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crewscope.exporter.peer_traces import MAX_DEPTH
from crewscope.query_api.store.query import Ident, inline, named
from crewscope.query_api.store.session import Session
from crewscope.query_api.store.sum_tables import SumTable, range_params

_NS_ROUNDING = timedelta(microseconds=1)
"""Timestamps come back cut to microseconds: upper bounds are moved up by one."""
FILLED = (("llm", "crewscope_llm_calls"), ("tool", "crewscope_tool_calls"))  # allowlist
HOURLY_MOVES = SumTable(
    "crewscope_agent_hourly",
    ("Hour", "AgentName"),
    (("LlmCalls", "sum"), ("CostUsd", "sum_null")),
    "deltas/agent_hourly_moves",
)
DROP_RESOLVED = (
    inline("drop_late_agents", "DROP TABLE IF EXISTS crewscope_late_agents"),
    inline("drop_late_context", "DROP TABLE IF EXISTS crewscope_late_context"),
)
WINDOW_HAS_ORPHANS = (
    "bool_or(NOT starts_with(coalesce(\"ScopeName\", ''), 'crewscope') AND ("
    '((list_contains($llm_ops, "GenAiOperation") OR "GenAiOperation" = \'execute_tool\') '
    'AND ("AgentName" IS NULL OR "CrewName" IS NULL)) '
    'OR ("GenAiOperation" = \'invoke_agent\' AND "CrewName" IS NULL)))'
)
"""Select-list fragment over a window's spans (the sync's count query, which takes
``$llm_ops``): whether it holds a span of another instrumentation that misses what an
enclosing span names (late_agent_pairs.sql)."""


def _up(ts: datetime | None) -> datetime | None:
    return None if ts is None else ts + _NS_ROUNDING


def fill_late_agents(s: Session, lo: int, hi: int) -> int:
    """Inside the sync's transaction, after the window [lo, hi] is copied: give the stored
    spans missing an agent, task or crew those of their enclosing spans (module doc).
    Returns how many spans were matched with an enclosing span."""
    params: dict[str, Any] = range_params(lo, hi)
    named_from, named_to, o_from, o_to = s.first(named("projections/late_agent_bounds"), params) or (
        None, None, None, None,
    )  # fmt: skip
    starts = [t for t in (named_from, o_from) if t is not None]
    ends = [t for t in (named_to, o_to) if t is not None]
    if not starts:
        return 0
    params |= {"t_from": min(starts), "t_to": _up(max(ends)), "o_from": o_from, "o_to": _up(o_to)}
    pairs = named("projections/late_agent_pairs")
    found = s.first(named("projections/late_agent_targets"), params, pairs=pairs)
    n, spans_from, calls_from, calls_to = found or (0, None, None, None)
    if not n:
        return 0
    params |= {
        "s_from": spans_from, "s_to": _up(calls_to), "c_from": calls_from,
        "c_to": _up(calls_to), "max_depth": MAX_DEPTH,
    }  # fmt: skip
    try:
        s.execute(named("projections/late_agents"), params, pairs=pairs)
        s.execute(named("projections/late_agent_calls"))
        HOURLY_MOVES.merge(s, params)
        s.execute(named("projections/late_hourly_empty"), params)
        fill = named("projections/late_agent_fill")
        for kind, table in FILLED:
            s.execute(fill, {**params, "kind": kind}, table=Ident(table))
        s.execute(named("projections/late_hourly_unpriced"), params)
        s.execute(named("projections/late_task_fill"), params)
        s.execute(named("projections/late_span_fill"), params)
    finally:
        for drop in DROP_RESOLVED:
            s.execute(drop)
    return int(n)
