"""Tables of sums kept per key (trace totals, hourly sums), added to at every projection sync.

Each sync computes the new spans' sums per key (a "delta" query over the rowid range) and
merges them in. DuckDB plans ``INSERT ... ON CONFLICT DO UPDATE`` as a MERGE whose hash
join reads the whole target table (~35 ms for 400k traces, growing with the table), so an
incremental sync, which touches a few keys, updates them one by one through the primary
key's ART index (~1 ms each), and only a large sync (a rebuild) uses the bulk upsert.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from crewscope.exporter.operations import LLM_OPERATIONS
from crewscope.query_api.store.query import Query, inline, named
from crewscope.query_api.store.session import Session

POINT_UPDATE_MAX_KEYS = 64

# How a column's delta merges into the stored value.
# How a column's delta merges into the stored value: (point update with the delta as
# parameter $v, bulk upsert from EXCLUDED). Column and table names come from `SUM_TABLES`.
_MERGE = {
    "sum": ('"{c}" = "{c}" + $v', '"{c}" = {t}."{c}" + EXCLUDED."{c}"'),
    # a sum that stays NULL while every part is NULL (cost of unpriced calls)
    "sum_null": (
        '"{c}" = coalesce("{c}" + $v, "{c}", $v)',
        '"{c}" = coalesce({t}."{c}" + EXCLUDED."{c}", {t}."{c}", EXCLUDED."{c}")',
    ),
    "min": ('"{c}" = least("{c}", $v)', '"{c}" = least({t}."{c}", EXCLUDED."{c}")'),
    "max": ('"{c}" = greatest("{c}", $v)', '"{c}" = greatest({t}."{c}", EXCLUDED."{c}")'),
}


@dataclass(frozen=True)
class SumTable:
    """`delta` (a file in sql/) selects the key columns then `columns`, in that order, from
    the spans whose ``GenAiOperation`` is in `reads` (None: every span)."""

    table: str
    keys: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (column, merge kind)
    delta: str
    reads: frozenset[str] | None = None

    def _names(self) -> str:
        return ", ".join(f'"{c}"' for c in (*self.keys, *(c for c, _ in self.columns)))

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Parameter names of one key's values: keys then columns, in `delta`'s order."""
        return tuple(f"p{i}" for i in range(len(self.keys) + len(self.columns)))

    @cached_property
    def update_query(self) -> Query:
        n = len(self.keys)
        sets = ", ".join(
            _MERGE[kind][0].format(c=c).replace("$v", f"$p{n + i}")
            for i, (c, kind) in enumerate(self.columns)
        )
        where = " AND ".join(f'"{k}" = $p{i}' for i, k in enumerate(self.keys))
        sql = f"UPDATE {self.table} SET {sets} WHERE {where} RETURNING 1"
        return inline(f"{self.delta}:update", sql)

    @cached_property
    def insert_query(self) -> Query:
        marks = ", ".join(f"${p}" for p in self.names)
        sql = f"INSERT INTO {self.table} ({self._names()}) VALUES ({marks})"
        return inline(f"{self.delta}:insert", sql)

    @cached_property
    def upsert_query(self) -> Query:
        sets = ", ".join(_MERGE[kind][1].format(c=c, t=self.table) for c, kind in self.columns)
        keys = ", ".join(f'"{k}"' for k in self.keys)
        sql = (
            f"INSERT INTO {self.table} ({self._names()}) {named(self.delta).text} "
            f"ON CONFLICT ({keys}) DO UPDATE SET {sets}"
        )
        return inline(f"{self.delta}:upsert", sql)

    def add(self, s: Session, lo: int, hi: int) -> int:
        """Merge the sums of the spans with rowid in [lo, hi]; returns the keys touched."""
        return self.merge(s, range_params(lo, hi))

    def merge(self, s: Session, params: dict[str, Any]) -> int:
        """Merge the rows `delta` selects with `params`; returns the keys touched."""
        rows = s.tuples(named(self.delta), params)
        if len(rows) > POINT_UPDATE_MAX_KEYS:
            s.execute(self.upsert_query, params)
            return len(rows)
        update, insert, names = self.update_query, self.insert_query, self.names
        for row in rows:
            values = dict(zip(names, row, strict=True))
            if s.first(update, values) is None:
                s.execute(insert, values)
        return len(rows)


def range_params(lo: int, hi: int) -> dict[str, Any]:
    """Parameters of the projection and delta queries over the spans with rowid in [lo, hi]
    (each query takes the ones it uses, see `Query.bind`)."""
    return {"lo": lo, "hi": hi, "llm_ops": list(LLM_OPERATIONS)}


_S, _N = "sum", "sum_null"
SUM_TABLES = (
    SumTable(
        "crewscope_run_totals",
        ("RunId",),
        (("Spans", _S), ("Tasks", _S), ("Steps", _S), ("LlmCalls", _S), ("ToolCalls", _S),
         ("Errors", _S), ("CostUsd", _N)),
        "deltas/run_totals",
    ),
    SumTable(
        "crewscope_agent_hourly",
        ("Hour", "AgentName"),
        (("Executions", _S), ("Failed", _S), ("SumMs", _S), ("MinMs", "min"), ("MaxMs", "max"),
         ("InputTokens", _S), ("OutputTokens", _S), ("LastTs", "max")),
        "deltas/agent_hourly_tasks",
        frozenset({"invoke_agent"}),
    ),
    SumTable(
        "crewscope_agent_hourly",
        ("Hour", "AgentName"),
        (("LlmCalls", _S), ("CostUsd", _N)),
        "deltas/agent_hourly_llm",
        frozenset(LLM_OPERATIONS),
    ),
    SumTable(
        "crewscope_run_hourly",
        ("Hour", "Kind", "Name"),
        (("Runs", _S), ("Failed", _S), ("InputTokens", _S), ("OutputTokens", _S)),
        "deltas/run_hourly",
        frozenset({"invoke_workflow", "invoke_agent"}),
    ),
)  # fmt: skip
"""Every sum table, in the order a sync merges them."""
