"""Tables of sums kept per key (trace totals, hourly sums), added to at every projection sync.

Each sync computes the new spans' sums per key (a "delta" query over the rowid range) and
merges them in. DuckDB plans ``INSERT ... ON CONFLICT DO UPDATE`` as a MERGE whose hash
join reads the whole target table (~35 ms for 400k traces, growing with the table), so an
incremental sync, which touches a few keys, updates them one by one through the primary
key's ART index (~1 ms each), and only a large sync (a rebuild) uses the bulk upsert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from crewscope.query_api.store.sql import LLM_OPERATIONS, load_sql, range_params

POINT_UPDATE_MAX_KEYS = 64

# How a column's delta merges into the stored value.
_MERGE = {
    "sum": ('"{c}" = "{c}" + ?', '"{c}" = {t}."{c}" + EXCLUDED."{c}"', 1),
    # a sum that stays NULL while every part is NULL (cost of unpriced calls)
    "sum_null": (
        '"{c}" = coalesce("{c}" + ?, "{c}", ?)',
        '"{c}" = coalesce({t}."{c}" + EXCLUDED."{c}", {t}."{c}", EXCLUDED."{c}")',
        2,
    ),
    "min": ('"{c}" = least("{c}", ?)', '"{c}" = least({t}."{c}", EXCLUDED."{c}")', 1),
    "max": ('"{c}" = greatest("{c}", ?)', '"{c}" = greatest({t}."{c}", EXCLUDED."{c}")', 1),
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

    @property
    def update_sql(self) -> str:
        sets = ", ".join(_MERGE[kind][0].format(c=c) for c, kind in self.columns)
        where = " AND ".join(f'"{k}" = ?' for k in self.keys)
        return f"UPDATE {self.table} SET {sets} WHERE {where} RETURNING 1"

    @property
    def insert_sql(self) -> str:
        marks = ", ".join("?" for _ in range(len(self.keys) + len(self.columns)))
        return f"INSERT INTO {self.table} ({self._names()}) VALUES ({marks})"

    @property
    def upsert_sql(self) -> str:
        sets = ", ".join(_MERGE[kind][1].format(c=c, t=self.table) for c, kind in self.columns)
        keys = ", ".join(f'"{k}"' for k in self.keys)
        return (
            f"INSERT INTO {self.table} ({self._names()}) {load_sql(self.delta)} "
            f"ON CONFLICT ({keys}) DO UPDATE SET {sets}"
        )

    def add(self, cur: duckdb.DuckDBPyConnection, lo: int, hi: int) -> int:
        """Merge the sums of the spans with rowid in [lo, hi]; returns the keys touched."""
        sql = load_sql(self.delta)
        params = range_params(sql, lo, hi)
        rows = cur.execute(sql, params).fetchall()
        if len(rows) > POINT_UPDATE_MAX_KEYS:
            cur.execute(self.upsert_sql, params)
            return len(rows)
        nkeys = len(self.keys)
        update, insert = self.update_sql, self.insert_sql
        for row in rows:
            values: list[Any] = []
            for (_, kind), value in zip(self.columns, row[nkeys:], strict=True):
                values += [value] * _MERGE[kind][2]
            if cur.execute(update, [*values, *row[:nkeys]]).fetchone() is None:
                cur.execute(insert, list(row))
        return len(rows)


_S, _N = "sum", "sum_null"
SUM_TABLES = (
    SumTable(
        "crewscope_trace_totals",
        ("TraceId",),
        (("Spans", _S), ("Tasks", _S), ("Steps", _S), ("LlmCalls", _S), ("ToolCalls", _S),
         ("Errors", _S), ("CostUsd", _N)),
        "deltas/trace_totals.sql",
    ),
    SumTable(
        "crewscope_agent_hourly",
        ("Hour", "AgentName"),
        (("Executions", _S), ("Failed", _S), ("SumMs", _S), ("MinMs", "min"), ("MaxMs", "max"),
         ("InputTokens", _S), ("OutputTokens", _S), ("LastTs", "max")),
        "deltas/agent_hourly_tasks.sql",
        frozenset({"invoke_agent"}),
    ),
    SumTable(
        "crewscope_agent_hourly",
        ("Hour", "AgentName"),
        (("LlmCalls", _S), ("CostUsd", _N)),
        "deltas/agent_hourly_llm.sql",
        frozenset(LLM_OPERATIONS),
    ),
    SumTable(
        "crewscope_crew_hourly",
        ("Hour", "CrewName"),
        (("Runs", _S), ("Failed", _S), ("InputTokens", _S), ("OutputTokens", _S)),
        "deltas/crew_hourly.sql",
        frozenset({"invoke_workflow"}),
    ),
)  # fmt: skip
"""Every sum table, in the order a sync merges them."""
