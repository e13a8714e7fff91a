"""crewscope's derived objects on one server, and the rebuild of tables whose layout changed.

Every derived table that materialized views fill carries a layout stamp as its comment
(``crewscope layout <hash>``): a hash of its ``CREATE TABLE`` statement and of the views that
fill it, so a change of sort key, columns, indexes or derivation changes the stamp, with
no version number to keep by hand. `create_derived` runs at every open; where a table
exists with another stamp (made by an older crewscope) it is rebuilt:

1. the materialized views that write into it or read from it are dropped, then the table
   (a table from before the stamps is rebuilt when its sort key or columns differ, and
   stamped otherwise);
2. every statement of the schema runs (``IF NOT EXISTS``), but for the views of step 1,
   and for the views of tables new to a store that has crewscope tables already;
3. each rebuilt (or new) table is refilled by its views' own ``SELECT``, in schema order,
   so a table derived from another reads it once that one is complete: the row tables
   from ``otel_traces``, the hourly and daily sums from the row tables;
4. the views of step 1 are created again.

A table named ``*_trigger_*`` only passes what an insert brings on to the views reading it
(sql/schema_late_agents.sql): it is not refilled, and a refill reading it reads the
``SELECT`` of the view that fills it instead (over every stored span).

Views that move sums already counted (``*_moves_mv``: the late agents of calls,
sql/schema_rollups_late.sql) neither stamp the table they write nor run in its refill: a
refill reads the call rows, which name the agent by then (`late_agents.apply_late_agents`
runs before the refill and after each refill of the call rows or of the late calls).

A table whose views are not there during the refill counts nothing twice: sums kept from
before (a daily table whose layout did not change) keep their rows and count only what is
inserted after. What a refill cannot bring back is what retention dropped from its
source: a rebuilt daily table counts the days whose spans are still stored. The live
feed's tables (``crewscope_live_*``) start empty instead: their rows are arrivals.
Writers inserting during a rebuild may be missed by the rebuilt tables: upgrade one
process first, before the Collectors write again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crewscope.query_api.store.clickhouse.late_agents import CALL_TABLES, try_apply_late_agents
from crewscope.query_api.store.clickhouse.queries import schema_parts, statements

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["STAMP", "create_derived", "derived_statements"]

logger = logging.getLogger(__name__)

STAMP = "crewscope layout "
"""The start of the comment of every stamped table."""

_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+)\s*\(")
_VIEW = re.compile(r"^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS\b(.*)$", re.S)
_NO_REFILL = "crewscope_live_"
_PASSING = "_trigger_"
MOVES = "_moves_mv"
"""The name's end of a view that moves sums (module doc)."""
_NAMING = {"crewscope_late_calls", *(t for targets in CALL_TABLES.values() for t, _ in targets)}
"""Tables after whose refill the call rows and spans are named again."""


@dataclass
class _View:
    name: str
    target: str
    select: str
    sql: str
    sources: set[str] = field(default_factory=set)


def _normal(sql: str) -> str:
    return " ".join(sql.split())


def _views(stmts: list[str], tables: set[str]) -> list[_View]:
    views = []
    for sql in stmts:
        if m := _VIEW.match(sql):
            words = set(re.findall(r"\w+", m.group(3)))
            views.append(_View(m.group(1), m.group(2), m.group(3), sql, words & tables))
    return views


def derived_statements(database: str) -> list[str]:
    """crewscope's derived objects for one server, in creation order (every schema part),
    each table that views fill stamped with its layout."""
    stmts = [
        sql.replace("{{database}}", database) for part in schema_parts() for sql in statements(part)
    ]
    tables = {m.group(1) for s in stmts if (m := _TABLE.match(s))}
    filled: dict[str, list[str]] = {}
    for view in _views(stmts, tables | {"otel_traces"}):
        if not view.name.endswith(MOVES):
            filled.setdefault(view.target, []).append(_normal(view.sql))
    out = []
    for sql in stmts:
        m = _TABLE.match(sql)
        if m and m.group(1) in filled:
            text = "\n".join([_normal(sql), *sorted(filled[m.group(1)])])
            stamp = hashlib.sha256(text.encode()).hexdigest()[:16]
            sql = f"{sql} COMMENT '{STAMP}{stamp}'"
        out.append(sql)
    return out


def _comment(sql: str) -> str | None:
    m = re.search(r"COMMENT '(" + re.escape(STAMP) + r"\w+)'$", sql)
    return m.group(1) if m else None


def _shape(sql: str) -> tuple[str, frozenset[str]]:
    """A table statement's sort key (as system.tables writes it) and column names."""
    m = re.search(r"ORDER BY \(([^)]*)\)", sql)
    key = ", ".join(k.strip().strip('"') for k in m.group(1).split(",")) if m else ""
    return key, frozenset(re.findall(r'^\s*"(\w+)"\s+\S', sql, re.M))


def _existing(client: Client, database: str) -> dict[str, tuple[str, str, frozenset[str]]]:
    """Each table of `database`: its comment, sort key and column names."""
    rows = client.query(
        "SELECT t.name, t.comment, t.sorting_key, groupArray(c.name) FROM system.tables AS t "
        "LEFT JOIN system.columns AS c ON c.database = t.database AND c.table = t.name "
        "WHERE t.database = {db:String} GROUP BY t.name, t.comment, t.sorting_key",
        parameters={"db": database},
    ).result_rows
    return {str(n): (str(comment), str(key), frozenset(cols)) for n, comment, key, cols in rows}


def _stale(sql: str, stamp: str, found: tuple[str, str, frozenset[str]]) -> bool:
    """Whether a table found with `found` has another layout than `sql` (stamped `stamp`).
    A table from before the stamps is stale when its sort key or columns differ."""
    comment, key, columns = found
    if comment.startswith(STAMP):
        return comment != stamp
    return (key, columns) != _shape(sql)


def _passed(view: _View, views: list[_View]) -> str:
    """`view`'s SELECT, each passing table it reads (module doc) read as the SELECT of the
    view that fills it."""
    select = view.select
    for source in sorted(view.sources):
        if _PASSING in source:
            fill = f"({next(v.select for v in views if v.target == source)})"
            select = re.sub(rf"\b{source}\b", lambda _m: fill, select)  # noqa: B023
    return select


def create_derived(client: Client, database: str, settings: dict[str, object]) -> list[str]:
    """Create crewscope's derived objects in `database` (the client's current database),
    rebuilding every table whose layout changed (module doc); returns the tables refilled."""
    stmts = derived_statements(database)
    existing = _existing(client, database)
    tables = {m.group(1): sql for sql in stmts if (m := _TABLE.match(sql))}
    views = _views(stmts, set(tables))
    stamps = {name: _comment(sql) for name, sql in tables.items()}
    stale = {
        t for t, stamp in stamps.items()
        if stamp and t in existing and _stale(tables[t], stamp, existing[t])
    }  # fmt: skip
    upgrading = any(t in existing for t in tables)
    refill = {
        t for t, stamp in stamps.items()
        if stamp and not t.startswith(_NO_REFILL) and _PASSING not in t
        and (t in stale or (upgrading and t not in existing))
    }  # fmt: skip
    rebuilt = stale | refill
    deferred = {v.name for v in views if v.target in rebuilt or v.sources & rebuilt}
    for v in views:
        if v.name in deferred and v.name in existing:
            client.command(f"DROP TABLE IF EXISTS `{v.name}`", settings=settings)
    for t in stale:
        logger.info("ClickHouse: %s.%s has an older layout: rebuilding it", database, t)
        client.command(f"DROP TABLE IF EXISTS `{t}`", settings=settings)
    for sql in stmts:
        if (m := _VIEW.match(sql)) and m.group(1) in deferred:
            continue
        client.command(sql, settings=settings)
    if refill:
        try_apply_late_agents(client, settings)
    for name in tables:  # schema order: a table's sources are refilled before it
        if name in refill:
            for v in views:
                if v.target == name and not v.name.endswith(MOVES):
                    client.command(f"INSERT INTO `{name}` {_passed(v, views)}")
            if name in _NAMING:
                try_apply_late_agents(client, settings)
    for v in views:
        if v.name in deferred:
            client.command(v.sql, settings=settings)
    for t, stamp in stamps.items():  # tables from before the stamps, of this layout
        if stamp and t in existing and t not in stale and existing[t][0] != stamp:
            client.command(f"ALTER TABLE `{t}` MODIFY COMMENT '{stamp}'", settings=settings)
    return [t for t in tables if t in refill]
