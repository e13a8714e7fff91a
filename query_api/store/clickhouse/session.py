"""`ClickHouseSession`: the storage seam's `Session` over a clickhouse-connect client.

Named queries resolve to their ClickHouse text (`queries.render`). Results come back as the
DuckDB session gives them: datetimes naive UTC, NULLs as None. ClickHouse has no
multi-statement transactions: `transaction` groups nothing (each insert is atomic by
itself) and `checkpoint` has nothing to do; the derived tables are kept by materialized
views inside ClickHouse, so no session ever writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from crewscope.query_api.store.clickhouse.queries import render
from crewscope.query_api.store.query import Fragment, Query
from crewscope.query_api.store.session import Params, Row, SessionBase

SETTINGS: dict[str, Any] = {
    "join_use_nulls": 1,  # an unmatched LEFT JOIN side is NULL, as in SQL (and DuckDB)
    "aggregate_functions_null_for_empty": 1,  # sum() over no rows is NULL, as in SQL
    "union_default_mode": "ALL",
    "session_timezone": "UTC",
}
"""Settings every query runs with: standard SQL's NULL semantics where the shared queries
rely on them."""


def _names(names: list[str]) -> list[str]:
    """Result column names as DuckDB gives them: ClickHouse qualifies a ``t.*`` column whose
    name another joined table shares (``page.LlmCalls``); the qualifier goes."""
    plain = set(names)
    out = []
    for n in names:
        _, dot, rest = n.partition(".")
        out.append(rest if dot and rest not in plain else n)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class ClickHouseSession(SessionBase):
    """A `Session` on one ClickHouse client (shared by the database's sessions)."""

    def __init__(
        self,
        guard: AbstractContextManager[Client],
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._guard = guard
        self._on_close = on_close

    def _query(
        self, query: Query, params: Params | None, slots: Mapping[str, Fragment]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        sql = render(query, params, slots)
        with self._guard as client:
            result = client.query(sql, settings=SETTINGS)
        names = _names(list(result.column_names))
        return names, [tuple(_plain(v) for v in row) for row in result.result_rows]

    def execute(self, query: Query, params: Params | None = None, **slots: Fragment) -> None:
        sql = render(query, params, slots)
        with self._guard as client:
            client.command(sql, settings=SETTINGS)

    def rows(self, query: Query, params: Params | None = None, **slots: Fragment) -> list[Row]:
        names, rows = self._query(query, params, slots)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def first(
        self, query: Query, params: Params | None = None, **slots: Fragment
    ) -> tuple[Any, ...] | None:
        _, rows = self._query(query, params, slots)
        return rows[0] if rows else None

    def tuples(
        self, query: Query, params: Params | None = None, **slots: Fragment
    ) -> list[tuple[Any, ...]]:
        return self._query(query, params, slots)[1]

    def batches(
        self, query: Query, params: Params | None, size: int, **slots: Fragment
    ) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
        """Column names and the rows in batches of `size` (read as one result)."""
        names, rows = self._query(query, params, slots)

        def gen() -> Iterator[list[tuple[Any, ...]]]:
            for i in range(0, len(rows), size):
                yield rows[i : i + size]

        return names, gen()

    def arrow(self, query: Query, params: Params | None = None, **slots: Fragment) -> pa.Table:
        sql = render(query, params, slots)
        with self._guard as client:
            table: pa.Table = client.query_arrow(sql, settings=SETTINGS)
        return table.rename_columns(_names(table.column_names))

    def append(self, table: str, data: pa.Table) -> None:
        """Insert an Arrow table by column name (`table` from code, never from input)."""
        with self._guard as client:
            client.insert_arrow(table, data, settings={"async_insert": 0})

    def transaction(self) -> AbstractContextManager[None]:
        return nullcontext()

    def checkpoint(self) -> None:
        return None

    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()
