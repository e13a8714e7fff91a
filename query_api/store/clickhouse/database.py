"""`ClickHouseDatabase`: the query API's handle on a ClickHouse store (server or embedded).

It has the surface of the DuckDB `Database` that the app, the jobs and the live feed use:
sessions, `reader` / `session`, `close`, a `path` to show and a `projections` object. Opening
creates what is missing: the clickhouseexporter's tables (as a stock Collector would, so
either may come first) and crewscope's derived objects (sql/schema.sql), all
``IF NOT EXISTS``, so any number of processes may open the same database.
"""

from __future__ import annotations

import logging
import re
import threading
from importlib import resources

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from crewscope.query_api.store.clickhouse.exporter_ddl import render_exporter_ddl
from crewscope.query_api.store.clickhouse.location import StoreLocation
from crewscope.query_api.store.clickhouse.prices import PriceSync
from crewscope.query_api.store.clickhouse.queries import statements
from crewscope.query_api.store.clickhouse.session import SETTINGS, ClickHouseSession
from crewscope.query_api.store.clickhouse.signal_writer import ClickHouseSignalSink
from crewscope.query_api.store.session import SessionScopes

logger = logging.getLogger(__name__)

_DATABASE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CHDB_LOCK = threading.Lock()
_chdb_clients: dict[str, Client] = {}


def connect(location: StoreLocation) -> Client:
    """A clickhouse-connect client for `location`'s server, or its embedded engine (one per
    process and path: the chDB engine opens one data directory per process)."""
    if location.engine == "chdb":
        with _CHDB_LOCK:
            client = _chdb_clients.get(str(location.path))
            if client is None:
                client = clickhouse_connect.get_client(dsn=f"chdb://{location.path}")
                _chdb_clients[str(location.path)] = client
            return client
    return clickhouse_connect.get_client(
        host=location.host,
        port=location.port,
        username=location.username,
        password=location.password,
        secure=location.secure,
        database="default",
        autogenerate_session_id=False,
    )


def create_schema(client: Client, database: str) -> None:
    """The exporter's tables, then crewscope's derived objects, in `database`."""
    for sql in render_exporter_ddl(database):
        client.command(sql, settings=SETTINGS)
    client.database = database
    for part in schema_parts():
        for sql in statements(part):
            client.command(sql.replace("{{database}}", database), settings=SETTINGS)


def schema_parts() -> list[str]:
    """``sql/schema.sql`` first, then each ``sql/schema_<topic>.sql`` in name order."""
    root = resources.files("crewscope.query_api.store.clickhouse").joinpath("sql")
    parts = sorted(p.name[:-4] for p in root.iterdir() if re.fullmatch(r"schema_\w+\.sql", p.name))
    return ["schema", *parts]


class ClickHouseDatabase(SessionScopes[ClickHouseSession]):
    """Sessions on one ClickHouse database holding the Collector's tables."""

    def __init__(self, location: StoreLocation) -> None:
        if not _DATABASE.match(location.database):
            raise ValueError(f"not a database name: {location.database!r}")
        self.location = location
        self.path = location.describe()
        self.engine: str = location.engine
        self._client = connect(location)
        self._lock = threading.Lock() if location.engine == "chdb" else None
        self.store = ClickHouseSignalSink(self._client, self._lock)
        """What the OTLP receiver appends to: span batches, and the metric and log tables
        (`ClickHouseSignalSink.append_tables`), in the exporter's columns."""
        create_schema(self._client, location.database)
        self.projections = PriceSync()
        with self.reader() as s:
            self.projections.sync(s, force=True)

    def new_session(self) -> ClickHouseSession:
        return ClickHouseSession(self._client, self._lock)

    def close(self, wait_s: float = 0.0) -> None:
        if self.location.engine != "chdb":  # the embedded engine lives as long as the process
            self._client.close()
