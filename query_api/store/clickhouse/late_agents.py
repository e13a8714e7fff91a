"""The rows of LLM and tool calls (and tasks) named by a later span: a lightweight UPDATE.

ClickHouse finds the agent of a call stored without one when the span naming it is
inserted, and moves the call's hourly and daily sums to it there and then
(sql/schema_late_agents.sql, sql/schema_rollups_late.sql): that needs no crewscope process.
The call rows (``crewscope_llm_call_rows``, ``crewscope_tool_call_rows``) and the spans'
by-trace copy that ``crewscope_spans`` reads (the trace views, an agent's activity) are read
as they are, so they get the agent by an ``UPDATE`` (a patch part, applied on read at once
and merged later), from the rows of ``crewscope_late_calls`` whose call still has none; the
task rows (``crewscope_task_rows``) and their spans get the crew of a crew span stored
after them so:

- the serve process that inserted a batch of other instrumentations' spans applies it for
  the batch's traces (`apply_late_agents` with their ids);
- every process applies it for every trace when it opens the store, and a rebuild does
  after refilling the call rows (layout.py), so a batch another writer inserted (a
  Collector), or whose process died in between, is named by the next process to open.

It only sets an agent where there is none, so any number of processes may run it at once.
On a cluster (Distributed tables) it is not run: there the call rows and spans keep no agent
and the task rows no crew (the sums move all the same). The exporter's ``otel_traces`` keeps
every span as it was sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["CALL_TABLES", "apply_late_agents", "try_apply_late_agents"]

logger = logging.getLogger(__name__)

_SPANS = "crewscope_spans_by_trace"
CALL_TABLES = {
    "llm": (("crewscope_llm_call_rows", "AgentName"), (_SPANS, "AgentName")),
    "tool": (("crewscope_tool_call_rows", "AgentName"), (_SPANS, "AgentName")),
    "task": (("crewscope_task_rows", "CrewName"), (_SPANS, "CrewName")),
}
"""Kind in crewscope_late_calls -> the tables it names and their column (an allowlist)."""
_CHUNK = 10_000
_US = timedelta(microseconds=1)  # times come back cut to microseconds: bounds move by one


_Named = Mapping[str, tuple[datetime, str, str]]
"""Span id -> its start, its trace and the name it takes."""


def _pending(client: Client, kind: str, table: str, column: str,
             trace_ids: Sequence[str] | None) -> dict[str, tuple[datetime, str, str]]:  # fmt: skip
    """The calls of `kind` that crewscope_late_calls names and whose row in `table` has no
    name yet: found inside ClickHouse, so an open with nothing left to name reads only ids."""
    late = 'WHERE "Kind" = {kind:String}'
    params: dict[str, object] = {"kind": kind}
    if trace_ids is not None:
        late += ' AND "TraceId" IN {traces:Array(String)}'
        params["traces"] = list(trace_ids)
    key = "TraceId" if table == _SPANS else "SpanId"  # what bounds the read of `table`
    rows = client.query(
        f'SELECT "SpanId", any("Timestamp"), any("TraceId"), any("Name") '
        f'FROM crewscope_late_calls {late} AND "SpanId" IN ('
        f'SELECT "SpanId" FROM {table} WHERE "{column}" IS NULL '
        f'AND "{key}" IN (SELECT "{key}" FROM crewscope_late_calls {late})) GROUP BY "SpanId"',
        parameters=params,
    ).result_rows
    return {str(s): (t, str(tr), str(name)) for s, t, tr, name in rows}


def _name(client: Client, table: str, column: str, named: _Named,
          settings: Mapping[str, object]) -> int:  # fmt: skip
    times = [t for t, _, _ in named.values()]
    params: dict[str, object] = {
        "lo": min(times), "hi": max(times) + _US, "ids": list(named),
        "names": [name for _, _, name in named.values()],
    }  # fmt: skip
    where = (
        f'"{column}" IS NULL AND "Timestamp" BETWEEN {{lo:DateTime64(9)}} '
        'AND {hi:DateTime64(9)} AND "SpanId" IN {ids:Array(String)}'
    )
    if table == _SPANS:  # sorted by trace first: the traces bound what is read
        params["traces"] = sorted({trace for _, trace, _ in named.values()})
        where += ' AND "TraceId" IN {traces:Array(String)}'
    client.command(
        f'UPDATE {table} SET "{column}" = transform("SpanId", {{ids:Array(String)}}, '
        f"{{names:Array(String)}}, '') WHERE {where}",
        parameters=params,
        settings=dict(settings),
    )
    return len(named)


def apply_late_agents(
    client: Client, trace_ids: Sequence[str] | None = None, settings: Mapping[str, object] = {}
) -> int:
    """Name the call rows and spans that crewscope_late_calls names and that have no agent
    (module doc): of `trace_ids`' traces, or of every trace. Returns how many rows it named
    (a call counts once in its table of rows and once in the spans)."""
    n = 0
    for kind, targets in CALL_TABLES.items():
        for table, column in targets:
            pending = _pending(client, kind, table, column, trace_ids)
            items = sorted(pending.items(), key=lambda kv: kv[1][0])
            for i in range(0, len(items), _CHUNK):
                n += _name(client, table, column, dict(items[i : i + _CHUNK]), settings)
    if n:
        logger.debug("ClickHouse: %d call rows took the agent of a later span", n)
    return n


def try_apply_late_agents(client: Client, settings: Mapping[str, object] = {}) -> int:
    """`apply_late_agents` for every trace, as a store is opened or rebuilt: a server that
    cannot run it (a lightweight ``UPDATE`` needs a recent ClickHouse) leaves the rows
    unnamed, logged, and the store opens all the same (the sums have moved regardless)."""
    try:
        return apply_late_agents(client, None, settings)
    except Exception as exc:  # noqa: BLE001 - naming rows must never keep a store from opening
        logger.warning("ClickHouse: late calls left unnamed (%s: %s)", type(exc).__name__, exc)
        return 0
