"""The ClickHouse text of a named query: ``clickhouse/sql/<name>.sql`` beside the DuckDB one.

Every query keeps one name on both engines (``reads/run_list`` is ``store/sql/reads/run_list.sql``
for DuckDB and ``store/clickhouse/sql/reads/run_list.sql`` here), the same ``$name``
parameters and the same ``{{slot}}``s, so code above the store never knows which engine
answers. `render` fills a query's slots for ClickHouse: `Where` clauses as written in code
(they use only syntax both engines share), `Ident` quoted, an included named query by its
ClickHouse text; then every ``$name`` becomes a literal (`literals.literal`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources

from crewscope.query_api.store.clickhouse.literals import literal
from crewscope.query_api.store.query import Fragment, Ident, Query, QueryError, Where

_PARAM = re.compile(r"(?<![\w$])\$([A-Za-z_]\w*)")
_SLOT = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_COMMENT = re.compile(r"--[^\n]*")


class NotOnClickHouse(QueryError):
    """A query that has no ClickHouse text yet."""


SHARED_TEXT = frozenset({
    "reads/rollup_count", "reads/rollup_list", "reads/run_window",
    "reads/task_by_id", "reads/task_list", "reads/export_rollups", "reads/memory_stats",
    "reads/prom_llm_usage", "reads/agent_activity",
    "reads/agent_activity_window", "reads/token_series", "reads/run_page", "reads/tool_usage",
    "reads/process_series",
})  # fmt: skip
"""Named queries whose DuckDB text is SQL both engines run alike over crewscope's views
(tests/query_api/engines compare their answers): ClickHouse reads that one text."""


@cache
def clickhouse_text(name: str) -> str:
    """The ClickHouse SQL of the named query `name` (comments kept)."""
    if name in SHARED_TEXT:
        shared = resources.files("crewscope.query_api.store").joinpath("sql", f"{name}.sql")
        return shared.read_text("utf-8")
    path = resources.files("crewscope.query_api.store.clickhouse").joinpath("sql", f"{name}.sql")
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise NotOnClickHouse(f"{name}: no ClickHouse version of this query") from None


def clickhouse_query(name: str) -> Query:
    """A query that only the ClickHouse engine has (its schema upkeep)."""
    return Query.of(name, clickhouse_text(name))


def _fill(name: str, text: str, slots: Mapping[str, Fragment]) -> str:
    text = _COMMENT.sub("", text)
    wanted = frozenset(_SLOT.findall(text))
    if set(slots) != wanted:
        raise QueryError(f"{name}: slots {sorted(wanted)} filled with {sorted(slots)}")
    return _SLOT.sub(lambda m: _fragment_sql(slots[m.group(1)]), text)


def _fragment_sql(frag: Fragment) -> str:
    if isinstance(frag, (Where, Ident)):
        return _COMMENT.sub("", frag.sql())
    return f"({_fill(frag.name, clickhouse_text(frag.name), dict(frag.filled))})"


def render(query: Query, params: Mapping[str, object] | None, slots: Mapping[str, Fragment]) -> str:
    """The finished ClickHouse statement for `query` with `params` and `slots`."""
    slots = {**dict(query.filled), **slots}
    values: dict[str, object] = {}
    for frag in slots.values():
        if isinstance(frag, Where):
            values.update(frag.params)
        elif isinstance(frag, Query):
            for inner in dict(frag.filled).values():
                if isinstance(inner, Where):
                    values.update(inner.params)
    values.update(params or {})
    text = _fill(query.name, clickhouse_text(query.name), slots)

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise QueryError(f"{query.name}: missing parameter {name!r}")
        return literal(values[name])

    return _PARAM.sub(sub, text)


def statements(name: str) -> list[str]:
    """The statements of a schema file (``;`` at a line's end separates them)."""
    text = _COMMENT.sub("", clickhouse_text(name))
    return [s.strip() for s in re.split(r";\s*\n", text) if s.strip()]


def schema_parts() -> list[str]:
    """``sql/schema.sql`` first, then each ``sql/schema_<topic>.sql`` in name order."""
    root = resources.files("crewscope.query_api.store.clickhouse").joinpath("sql")
    parts = sorted(p.name[:-4] for p in root.iterdir() if re.fullmatch(r"schema_\w+\.sql", p.name))
    return ["schema", *parts]
