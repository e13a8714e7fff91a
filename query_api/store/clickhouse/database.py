"""`ClickHouseDatabase`: the query API's handle on a ClickHouse store (server or embedded).

It has the surface of the DuckDB `Database` that the app, the jobs and the live feed use:
sessions, `reader` / `session`, `close`, a `path` to show and a `projections` object. Opening
creates what is missing: the clickhouseexporter's tables (as a stock Collector would, so
either may come first) and crewscope's derived objects (sql/schema.sql), all
``IF NOT EXISTS``, so any number of processes may open the same database; a derived table
of an older layout is rebuilt once (`layout.create_derived`), and call rows that a later
span named are given their agent (`late_agents.apply_late_agents`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from crewscope.query_api.store.clickhouse.cluster_ddl import missing_objects
from crewscope.query_api.store.clickhouse.exporter_ddl import render_exporter_ddl
from crewscope.query_api.store.clickhouse.late_agents import try_apply_late_agents
from crewscope.query_api.store.clickhouse.layout import create_derived
from crewscope.query_api.store.clickhouse.location import StoreLocation
from crewscope.query_api.store.clickhouse.prices import PriceSync
from crewscope.query_api.store.clickhouse.retention import apply_retention
from crewscope.query_api.store.clickhouse.session import SETTINGS, ClickHouseSession
from crewscope.query_api.store.clickhouse.signal_writer import ClickHouseSignalSink
from crewscope.query_api.store.errors import StoreSetupError
from crewscope.query_api.store.session import SessionScopes

logger = logging.getLogger(__name__)

_DATABASE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CHDB_LOCK = threading.Lock()
_chdb_clients: dict[str, tuple[Client, threading.RLock]] = {}


class DatabaseGuard:
    """Exclusive use of a client, pointed at one database.

    The embedded engine has one client per process and data directory (`connect`), shared
    by every database opened on it; its current database is client state. Every use of
    the client (queries, inserts, schema upkeep) therefore goes through the guard of its
    database: the directory's lock is held and the client is pointed at that database, so
    two stores on one directory never read or write each other's tables. A server client
    belongs to one database object; its guard only points it there."""

    def __init__(self, client: Client, database: str, lock: threading.RLock | None) -> None:
        self._client = client
        self._database = database
        self._lock = lock
        self._pointed = lock is not None  # a server client is pointed once it exists

    def __enter__(self) -> Client:
        if self._lock is not None:
            self._lock.acquire()
            self._client.database = self._database
        elif not self._pointed:
            self._client.database = self._database
            self._pointed = True
        return self._client

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.release()

    @contextmanager
    def unpointed(self) -> Iterator[Client]:
        """The client under the lock, left where it is (for creating the database)."""
        if self._lock is None:
            yield self._client
            return
        with self._lock:
            yield self._client


def connect(location: StoreLocation) -> tuple[Client, threading.RLock | None]:
    """A clickhouse-connect client for `location`'s server, or its embedded engine (one per
    process and path, with the lock its users share: the chDB engine opens one data
    directory per process)."""
    if location.engine == "chdb":
        with _CHDB_LOCK:
            shared = _chdb_clients.get(str(location.path))
            if shared is None:
                client = clickhouse_connect.get_client(dsn=f"chdb://{location.path}")
                shared = _chdb_clients[str(location.path)] = (client, threading.RLock())
            return shared
    client = clickhouse_connect.get_client(
        host=location.host,
        port=location.port,
        username=location.username,
        password=location.password,
        secure=location.secure,
        database="default",
        autogenerate_session_id=False,
        # On a cluster, a JOIN or IN over a Distributed table reads every shard
        # (cluster_ddl explains the layout).
        settings={"distributed_product_mode": "global"} if location.cluster else None,
    )
    return client, None


def create_schema(client: Client, database: str) -> None:
    """The exporter's tables, then crewscope's derived objects, in `database` (tables of an
    older layout rebuilt: `layout.create_derived`)."""
    for sql in render_exporter_ddl(database):
        client.command(sql, settings=SETTINGS)
    client.database = database
    create_derived(client, database, SETTINGS)


class ClickHouseDatabase(SessionScopes[ClickHouseSession]):
    """Sessions on one ClickHouse database holding the Collector's tables."""

    def __init__(self, location: StoreLocation) -> None:
        if not _DATABASE.match(location.database):
            raise ValueError(f"not a database name: {location.database!r}")
        self.location = location
        self.path = location.describe()
        self.engine: str = location.engine
        self._client, lock = connect(location)
        self._guard = DatabaseGuard(self._client, location.database, lock)
        self.store = ClickHouseSignalSink(self._guard)
        """What the OTLP receiver appends to: span batches, and the metric and log tables
        (`ClickHouseSignalSink.append_tables`), in the exporter's columns."""
        if location.cluster:
            with self._guard.unpointed() as client:
                missing = missing_objects(client, location.cluster, location.database)
            if missing:
                raise StoreSetupError(
                    f"{location.describe()}: the cluster schema is incomplete (missing "
                    f"{', '.join(missing[:5])}); create it first with: crewscope "
                    f"clickhouse-schema --cluster {location.cluster} --database {location.database}"
                )
        else:
            with self._guard.unpointed() as client:
                create_schema(client, location.database)
                # what another writer left unnamed (late_agents.py)
                try_apply_late_agents(client, SETTINGS)
        self.store.late_agents = not location.cluster
        self.projections = PriceSync()
        with self.reader() as s:
            self.projections.sync(s, force=True)

    def new_session(self) -> ClickHouseSession:
        return ClickHouseSession(self._guard)

    def retain(self, days: int) -> list[str]:
        """Retention as table TTLs (`retention.apply_retention`); on a cluster the TTLs come
        with its schema (``crewscope clickhouse-schema --cluster NAME --ttl-days N``)."""
        if self.location.cluster:
            return []
        with self._guard as client:
            return apply_retention(client, self.location.database, days)

    def close(self, wait_s: float = 0.0) -> None:
        if self.location.engine != "chdb":  # the embedded engine lives as long as the process
            self._client.close()
