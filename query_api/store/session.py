"""The storage seam: a `Session` is everything the query layer may do with the database.

Resource queries, jobs, the live feed and the operations endpoints run SQL only through a
session: a named `Query` with named parameters (and `{{slot}}` fragments), rows as dicts,
tuples or Arrow, Arrow appends, transactions. Nothing above ``store/`` holds an engine
connection, so a second engine plugs in here with its own `Session` and its own
``sql/`` dialect files.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Generic, Protocol, Self, TypeVar

import duckdb
import pyarrow as pa

from crewscope.query_api.store.query import Fragment, Query

Params = Mapping[str, object]
Row = dict[str, Any]
EngineError = duckdb.Error
"""What a failed statement raises (the engine's base error)."""


class Session(Protocol):
    """One thread's connection to the store (not shared between threads)."""

    def execute(self, query: Query, params: Params | None = None, **slots: Fragment) -> None: ...
    def rows(self, query: Query, params: Params | None = None, **slots: Fragment) -> list[Row]: ...
    def one(self, query: Query, params: Params | None = None, **slots: Fragment) -> Row | None: ...
    def first(
        self, query: Query, params: Params | None = None, **slots: Fragment
    ) -> tuple[Any, ...] | None: ...
    def scalar(self, query: Query, params: Params | None = None, **slots: Fragment) -> Any: ...
    def tuples(
        self, query: Query, params: Params | None = None, **slots: Fragment
    ) -> list[tuple[Any, ...]]: ...
    def batches(
        self, query: Query, params: Params | None, size: int, **slots: Fragment
    ) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]: ...
    def arrow(self, query: Query, params: Params | None = None, **slots: Fragment) -> pa.Table: ...
    def append(self, table: str, data: pa.Table) -> None: ...
    def transaction(self) -> AbstractContextManager[None]: ...
    def checkpoint(self) -> None: ...
    def close(self) -> None: ...


class SessionBase:
    """What every engine's session derives from its `rows` and `first`: `one`, `scalar`
    and use as a context manager (closing at the end)."""

    def rows(self, query: Query, params: Params | None = None, **slots: Fragment) -> list[Row]:
        raise NotImplementedError

    def first(
        self, query: Query, params: Params | None = None, **slots: Fragment
    ) -> tuple[Any, ...] | None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def one(self, query: Query, params: Params | None = None, **slots: Fragment) -> Row | None:
        rows = self.rows(query, params, **slots)
        return rows[0] if rows else None

    def scalar(self, query: Query, params: Params | None = None, **slots: Fragment) -> Any:
        row = self.first(query, params, **slots)
        return None if row is None else row[0]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DuckDBSession(SessionBase):
    """A `Session` on one DuckDB cursor."""

    def __init__(
        self, cursor: duckdb.DuckDBPyConnection, on_close: Callable[[], None] | None = None
    ) -> None:
        self._cur = cursor
        self._in_tx = False
        self._on_close = on_close

    def _run(
        self, query: Query, params: Params | None, slots: Mapping[str, Fragment]
    ) -> duckdb.DuckDBPyConnection:
        q, extra = query.render(slots)
        merged = {**extra, **params} if extra and params else (extra or params)
        return self._cur.execute(q.text, q.bind(merged))

    def execute(self, query: Query, params: Params | None = None, **slots: Fragment) -> None:
        self._run(query, params, slots)

    def rows(self, query: Query, params: Params | None = None, **slots: Fragment) -> list[Row]:
        cur = self._run(query, params, slots)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def first(
        self, query: Query, params: Params | None = None, **slots: Fragment
    ) -> tuple[Any, ...] | None:
        row = self._run(query, params, slots).fetchone()
        return None if row is None else tuple(row)

    def tuples(
        self, query: Query, params: Params | None = None, **slots: Fragment
    ) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._run(query, params, slots).fetchall()]

    def batches(
        self, query: Query, params: Params | None, size: int, **slots: Fragment
    ) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
        """Column names and the rows in batches of `size` (read lazily)."""
        cur = self._run(query, params, slots)
        names = [d[0] for d in cur.description or ()]

        def gen() -> Iterator[list[tuple[Any, ...]]]:
            while batch := cur.fetchmany(size):
                yield batch

        return names, gen()

    def arrow(self, query: Query, params: Params | None = None, **slots: Fragment) -> pa.Table:
        cur = self._run(query, params, slots)
        with warnings.catch_warnings():  # DuckDB 2 notes the copy a DB-API result makes
            warnings.simplefilter("ignore", UserWarning)
            return cur.to_arrow_table()

    def append(self, table: str, data: pa.Table) -> None:
        """Insert an Arrow table by column name (`table` from code, never from input)."""
        view = f"_crewscope_append_{id(data):x}"
        self._cur.register(view, data)
        try:
            self._cur.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM "{view}"')
        finally:
            self._cur.unregister(view)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, rolled back on any exception (re-raised); nests as a no-op."""
        if self._in_tx:
            yield
            return
        self._cur.begin()
        self._in_tx = True
        try:
            yield
            self._cur.commit()
        except BaseException:
            self._cur.rollback()
            raise
        finally:
            self._in_tx = False

    def checkpoint(self) -> None:
        self._cur.execute("CHECKPOINT")

    def close(self) -> None:
        """Close the cursor (idempotent); tells the database the session is done."""
        on_close, self._on_close = self._on_close, None
        try:
            self._cur.close()
        finally:
            if on_close is not None:
                on_close()


S = TypeVar("S", bound=SessionBase)


class SessionScopes(Generic[S]):
    """`reader` and `session` scopes of a database over its `new_session` (both engines)."""

    projections: Any

    def new_session(self) -> S:
        raise NotImplementedError

    @contextmanager
    def reader(self) -> Iterator[S]:
        """A session on the tables as they are (derived tables not brought up to date first)."""
        s = self.new_session()
        try:
            yield s
        finally:
            s.close()

    @contextmanager
    def session(self, *, wait_s: float | None = None) -> Iterator[S]:
        """A session whose derived tables include everything committed so far (`wait_s`:
        see the DuckDB `Database.session`; derived tables elsewhere are kept by the engine)."""
        with self.reader() as s:
            self.projections.sync(s)
            yield s
