"""`DatabaseHandle`: what the app, its jobs and the live feed hold, whichever engine answers,
and `open_database`, which picks the engine from the ``--store`` value.

DuckDB (`database.Database`, a file) is the default; ``clickhouse://`` and ``chdb://`` open a
`clickhouse.database.ClickHouseDatabase` over the Collector's own tables.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from crewscope.exporter.store import SpanStore
from crewscope.query_api.store.clickhouse.location import parse_store
from crewscope.query_api.store.session import Session


class Derived(Protocol):
    """What keeps the derived tables in step (DuckDB's projections; ClickHouse's prices)."""

    last_sync: float | None
    last_error: str | None

    def sync(self, s: Session) -> int: ...
    def verify(self, s: Session) -> bool: ...
    def rebuild(self, s: Session) -> int: ...


class DatabaseHandle(Protocol):
    path: str
    engine: str
    projections: Any
    store: Any

    def new_session(self) -> Session: ...
    def reader(self) -> AbstractContextManager[Session]: ...
    def session(self, *, wait_s: float | None = ...) -> AbstractContextManager[Session]: ...
    def close(self, wait_s: float = ...) -> None: ...


def open_database(store_url: str, *, store: SpanStore | None = None) -> DatabaseHandle:
    """The database a ``--store`` value names (a plain path is a DuckDB file)."""
    location = parse_store(store_url)
    if location.engine == "duckdb":
        from crewscope.query_api.store.database import Database

        return Database(location.path or store_url, store=store)
    from crewscope.query_api.store.clickhouse.database import ClickHouseDatabase

    return ClickHouseDatabase(location)
