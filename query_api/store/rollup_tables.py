"""The daily rollup tables: one per grouping, alike but for the table and its name column."""

from __future__ import annotations

from crewscope.query_api.store.query import Ident, named
from crewscope.query_api.store.session import Session

ROLLUP_TABLES = {
    "agent": ("crewscope_rollup_agent_daily", "AgentName"),
    "crew": ("crewscope_rollup_crew_daily", "CrewName"),
}
"""Fixed allowlist: per grouping, the rollup table and the column naming the agent / crew."""


def rollup_slots(group: str) -> dict[str, Ident]:
    """The ``{{table}}`` and ``{{name_column}}`` slots of a rollup query for `group`."""
    table, column = ROLLUP_TABLES[group]
    return {"table": Ident(table), "name_column": Ident(column)}


def create_rollup_tables(s: Session) -> None:
    for group in ROLLUP_TABLES:
        s.execute(named("rollup_table"), None, **rollup_slots(group))
