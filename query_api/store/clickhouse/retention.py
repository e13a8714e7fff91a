"""Retention on ClickHouse: table TTLs, not a deleting job.

``crewscope serve --retention-days N`` on DuckDB deletes old spans, logs and metric points
every hour. On ClickHouse the same rule is a TTL on every table that holds them or is
derived from them row by row (runs, tasks, LLM and tool calls, hourly sums, per-run sums),
so the server drops old parts itself, whichever process or Collector wrote them; the daily
rollups are kept, as on DuckDB. The TTL of each table is set (``ALTER TABLE ... MODIFY
TTL``) only where it differs, so every serve process may apply it at start.

A Collector configured with its own ``ttl`` sets the same kind of TTL on the exporter's
tables; the last one applied wins, so give both the same number of days.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from crewscope.query_api.store.clickhouse.session import SETTINGS

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["TTL_COLUMNS", "apply_retention", "retention_statements", "ttl_clause"]

logger = logging.getLogger(__name__)

TTL_COLUMNS = ("Timestamp", "TimeUnix", "Start", "Hour", "LastSeen")
"""The time column a retained table's TTL reads, first match wins: the exporter's spans and
logs (``Timestamp``), metric points (``TimeUnix``), its trace-id lookup (``Start``), and
crewscope's hourly (``Hour``) and per-run (``LastSeen``) sums. Daily rollups (``Day``)
and the prices have none of them and are kept."""

_TABLES = """
SELECT t.name, t.engine_full, groupArray(c.name)
FROM system.tables AS t
INNER JOIN system.columns AS c ON c.database = t.database AND c.table = t.name
WHERE t.database = {db:String} AND t.engine LIKE '%MergeTree' AND c.name IN {cols:Array(String)}
GROUP BY t.name, t.engine_full
ORDER BY t.name
"""


def ttl_clause(column: str, days: int) -> str:
    """The TTL expression the exporter writes for `days` (``GenerateTTLExpr``)."""
    return f"TTL toDateTime({column}) + toIntervalDay({days})"


def retention_statements(client: Client, database: str, days: int) -> list[str]:
    """The ``ALTER TABLE`` statements that bring every retained table of `database` to a
    TTL of `days` days (none for a table that has it already)."""
    if days <= 0:
        raise ValueError("retention needs a positive number of days")
    rows = client.query(
        _TABLES, parameters={"db": database, "cols": list(TTL_COLUMNS)}, settings=SETTINGS
    ).result_rows
    out = []
    for name, engine_full, columns in rows:
        column = next(c for c in TTL_COLUMNS if c in columns)
        clause = ttl_clause(column, days)
        if clause not in str(engine_full):
            out.append(f"ALTER TABLE `{database}`.`{name}` MODIFY {clause}")
    return out


def apply_retention(client: Client, database: str, days: int) -> list[str]:
    """Set the TTLs (`retention_statements`); returns the tables changed. A failure is
    logged and leaves the other tables' TTLs in place."""
    changed = []
    for statement in retention_statements(client, database, days):
        try:
            client.command(statement, settings=SETTINGS)
        except Exception:  # one table's TTL must not stop serving
            logger.warning("retention: %s failed", statement, exc_info=True)
            continue
        changed.append(statement.split("`")[3])
    if changed:
        logger.info("retention: TTL of %d days on %s", days, ", ".join(changed))
    return changed
