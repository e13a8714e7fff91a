"""Named SQL: every query the query API runs, with ``$name`` parameters and ``{{slot}}``s.

Queries live in ``store/sql/<stage>/<name>.sql`` (``tables.sql``; ``projections/``,
``deltas/``: what the projection sync copies and adds; ``rollups/``: daily rollups;
``reads/``: what the endpoints answer with). `named("reads/run_list")` loads one (read
once); `inline(name, text)` names a short statement kept beside the code that runs it in
``store/``. One convention throughout:

- values only through named parameters ``$name``; `bind` gives DuckDB exactly the names a
  query uses and refuses a query whose parameter is missing;
- identifiers and WHERE clauses only through ``{{slot}}`` placeholders filled by `render`
  with a `Where` (conditions written in code) or an `Ident` (a name from an allowlist).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Union

_PARAM = re.compile(r"(?<![\w$])\$([A-Za-z_]\w*)")
_SLOT = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class QueryError(ValueError):
    """A query was run with a missing parameter or an unfilled / unknown slot."""


@dataclass(frozen=True)
class Ident:
    """An identifier from an allowlist in code (a table or column name), quoted on render."""

    name: str

    def __post_init__(self) -> None:
        if not _IDENT.match(self.name):
            raise QueryError(f"not an identifier: {self.name!r}")

    def sql(self) -> str:
        return f'"{self.name}"'


@dataclass
class Where:
    """Conditions come only from code (an allowlist); values only through parameters."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, object] = field(default_factory=dict)

    def add(self, clause: str, **params: object) -> Where:
        self.clauses.append(clause)
        self.params.update(params)
        return self

    def add_if(self, value: object, clause: str, name: str) -> Where:
        if value is not None:
            self.add(clause, **{name: value})
        return self

    def sql(self) -> str:
        return ("WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


Fragment = Union["Where", Ident, "Query"]
"""What fills a slot: a `Where`, an `Ident`, or a named `Query` included as a subquery."""


@dataclass(frozen=True)
class Query:
    """One SQL statement, its name (for errors and logs) and the parameters it uses."""

    name: str
    text: str
    params: frozenset[str]
    slots: frozenset[str]
    filled: tuple[tuple[str, Fragment], ...] = field(default=(), compare=False)
    """The fragments `render` filled this query's slots with (another engine renders its own
    text of the same query with them)."""

    @classmethod
    def of(cls, name: str, text: str) -> Query:
        return cls(name, text, _params(text), frozenset(_SLOT.findall(text)))

    def render(self, fragments: Mapping[str, Fragment]) -> tuple[Query, dict[str, object]]:
        """The query with its slots filled, and the parameters the fragments bring."""
        if set(fragments) != self.slots:
            raise QueryError(
                f"{self.name}: slots {sorted(self.slots)} filled with {sorted(fragments)}"
            )
        if not fragments:
            return self, {}
        extra: dict[str, object] = {}
        for frag in fragments.values():
            if isinstance(frag, Where):
                extra.update(frag.params)
            elif isinstance(frag, Query) and frag.slots:
                raise QueryError(f"{self.name}: included query {frag.name} has open slots")
        text = _SLOT.sub(lambda m: fragments[m.group(1)].sql(), self.text)
        filled = (*self.filled, *fragments.items())
        return Query(self.name, text, _params(text), frozenset(), filled), extra

    def sql(self) -> str:
        """This query as a subquery of another (its parameters become the outer one's)."""
        return f"({self.text})"

    def bind(self, params: Mapping[str, object] | None) -> dict[str, object]:
        """Exactly the parameters this query uses (DuckDB refuses unused ones)."""
        given = params or {}
        missing = self.params - given.keys()
        if missing:
            raise QueryError(f"{self.name}: missing parameters {sorted(missing)}")
        return {k: given[k] for k in self.params}


def _params(text: str) -> frozenset[str]:
    # Quoted identifiers and string literals never hold a `$name` in our SQL, so a plain
    # scan is exact; comments are stripped first.
    stripped = re.sub(r"--[^\n]*", "", text)
    return frozenset(_PARAM.findall(stripped))


@cache
def named(name: str) -> Query:
    """The query in ``store/sql/<name>.sql`` (e.g. ``reads/run_list``)."""
    path = name if name.endswith(".sql") else f"{name}.sql"
    text = resources.files("crewscope.query_api.store").joinpath("sql", path).read_text("utf-8")
    return Query.of(name, text)


def inline(name: str, text: str) -> Query:
    """A short statement kept as a constant in the store module that runs it."""
    return Query.of(name, text)


def bind(query: Query, params: Mapping[str, Any] | None = None) -> dict[str, object]:
    """The one way parameters reach the engine: see `Query.bind`."""
    return query.bind(params)
