"""Agents of LLM and tool calls whose enclosing agent span is synced after them.

Other instrumentations' LLM-call and tool spans name no agent: row conversion gives them
the agent of their nearest enclosing span that names one (`exporter.peer_traces`), but only
when that span is in the same export batch or an earlier one. An agent span ends, and is
exported, after its calls, so calls exported in an earlier batch (the agent's work outlasted
the exporter's schedule delay) are stored without an agent. The projection sync fills them
in, in the same transaction as the rows it copies (`fill_late_agents`, after the row
projections and the sums of the window):

1. the window's spans that name an agent, and the stored task spans around the window's
   own calls without an agent, are matched with the stored calls without an agent that
   start inside them in the same trace (``late_agent_pairs.sql``);
2. each matched call takes the agent of its nearest ancestor that names one, walking up
   the parent ids of its trace in ``otel_traces`` (``late_agents.sql``; the enclosing
   span's start bounds the spans read);
3. their LLM calls and cost move from the no-agent bucket to the agent in
   ``crewscope_agent_hourly`` (``deltas/agent_hourly_moves.sql``), then the rows of
   ``crewscope_llm_calls`` / ``crewscope_tool_calls`` get the agent.

So the projections and the hourly sums answer as if the calls had named their agent, and a
rebuild (one window over every span) gives the same. ``otel_traces`` keeps the spans as they
were stored (other reads of its ``AgentName``, e.g. an agent's activity, still see NULL).

Cost: nothing while no call without an agent was ever synced (crewscope's own calls name
their agent): the sync keeps that as a flag beside its watermark (`projections`), and its
count query tells whether the window holds such a call. Once one was, each window with
spans naming an agent reads its bounds and matches the calls stored without an agent in
that time range (a few row groups); the walk, the moves and the fill run only for matches.
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
DROP_RESOLVED = inline("drop_late_agents", "DROP TABLE IF EXISTS crewscope_late_agents")
WINDOW_HAS_ORPHANS = (
    'bool_or("AgentName" IS NULL AND '
    '(list_contains($llm_ops, "GenAiOperation") OR "GenAiOperation" = \'execute_tool\'))'
)
"""Select-list fragment over a window's spans (the sync's count query, which takes
``$llm_ops``): whether it holds an LLM or tool call without an agent."""


def _up(ts: datetime | None) -> datetime | None:
    return None if ts is None else ts + _NS_ROUNDING


def fill_late_agents(s: Session, lo: int, hi: int) -> int:
    """Inside the sync's transaction, after the window [lo, hi] is copied: give the stored
    calls without an agent the agent of their enclosing span (module doc). Returns how
    many calls were matched with an enclosing span."""
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
    s.execute(named("projections/late_agents"), params, pairs=pairs)
    try:
        HOURLY_MOVES.merge(s, params)
        fill = named("projections/late_agent_fill")
        for kind, table in FILLED:
            s.execute(fill, {**params, "kind": kind}, table=Ident(table))
    finally:
        s.execute(DROP_RESOLVED)
    return int(n)
