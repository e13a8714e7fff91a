"""The DuckDB file: connection, schema bootstrap and columnar appends.

Shared by the in-process exporter, the OTLP receiver and the query API. DuckDB allows one
read-write process per file; inside that process, every thread takes its own `cursor()`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from importlib import resources
from types import TracebackType

import duckdb
import pyarrow as pa

from crewscope.exporter.read_priority import ReadsFirst

logger = logging.getLogger(__name__)

INSERT_BY_NAME = 'INSERT INTO "{table}" BY NAME SELECT * FROM "{view}"'

_SCHEMA_LOCK = threading.Lock()
DEFAULT_DDL: tuple[str, ...] = ("schema.sql", "metrics_schema.sql", "logs_schema.sql")
"""The ``sql/`` files a read-write open runs: traces, metrics and logs tables."""


def read_sql(name: str) -> str:
    """The text of ``exporter/sql/<name>``."""
    return resources.files("crewscope.exporter").joinpath("sql", name).read_text("utf-8")


def is_lock_error(exc: BaseException) -> bool:
    """True for DuckDB's "Could not set lock on file" (another process holds the file)."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class SpanStore:
    """Owns one DuckDB connection to a crewscope database file.

    Opening raises DuckDB's errors unchanged (see `is_lock_error`); the caller decides
    whether to retry. Read-write opens create the tables from `DEFAULT_DDL`.
    Within one process, open a file with one configuration only: DuckDB shares one
    instance per file and refuses a second open with other settings (e.g. read-only).
    """

    def __init__(
        self,
        path: str,
        *,
        read_only: bool = False,
        config: dict[str, str] | None = None,
        ddl: tuple[str, ...] = DEFAULT_DDL,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self._lock = threading.Lock()
        """Held by each append (the whole insert) and by checkpoint and close."""
        self._cursor_lock = threading.Lock()
        """Held only while a cursor is made: readers never wait for an insert in progress."""
        self.reads = ReadsFirst()
        """Query sessions in progress on this store's cursors: a writer that sheds load
        gives way to them (`read_priority`)."""
        if not read_only and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._con: duckdb.DuckDBPyConnection | None = duckdb.connect(
            path, read_only=read_only, config=dict(config or {})
        )
        try:
            if not read_only:
                # Stores of one process on one file (span, metric and log exporters, the
                # server) share one DuckDB instance: creating the tables from two threads
                # at once is a write-write conflict, so the schema is created one at a time.
                with _SCHEMA_LOCK:
                    for name in ddl:
                        self._con.execute(read_sql(name))
        except BaseException:
            self._con.close()
            raise
        self._view = f"_crewscope_batch_{id(self):x}"
        self._spawner: duckdb.DuckDBPyConnection | None = self._con.cursor()
        """A connection of its own that only makes cursors (the one that appends may be busy
        inserting: making a cursor from it would wait for the insert to end)."""

    @property
    def closed(self) -> bool:
        return self._con is None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise duckdb.ConnectionException(f"SpanStore for {self.path} is closed")
        return self._con

    def append(self, table: pa.Table) -> None:
        """Insert spans (`span_rows.ARROW_SCHEMA`) as one committed, columnar insert."""
        self.append_tables({"otel_traces": table})

    def append_tables(self, tables: Mapping[str, pa.Table]) -> None:
        """Insert each Arrow table into the table named by its key (names from code, never
        input), all committed together: returning means they are durable."""
        tables = {name: table for name, table in tables.items() if table.num_rows}
        if not tables:
            return
        with self._lock:
            con = self._connection()
            if len(tables) == 1:  # autocommit: returning means the batch is in the WAL
                self._insert(con, *next(iter(tables.items())))
                return
            con.begin()
            try:
                for name, table in tables.items():
                    self._insert(con, name, table)
                con.commit()
            except BaseException:
                try:
                    con.rollback()
                except duckdb.Error:  # the connection is gone: the original error matters
                    pass
                raise

    def _insert(self, con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
        con.register(self._view, table)
        try:
            # BY NAME: the insert depends on the Arrow schema's names, not on column order.
            con.execute(INSERT_BY_NAME.format(table=name, view=self._view))
        finally:
            con.unregister(self._view)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the same database, for use by one other thread; made without
        waiting for an append in progress."""
        with self._cursor_lock:
            if self._spawner is None:
                raise duckdb.ConnectionException(f"SpanStore for {self.path} is closed")
            return self._spawner.cursor()

    def checkpoint(self) -> None:
        """Fold the WAL into the database file."""
        with self._lock:
            self._connection().execute("CHECKPOINT")

    def close(self) -> None:
        """Close the connection (idempotent); cursors already handed out stop working."""
        with self._cursor_lock:
            spawner, self._spawner = self._spawner, None
        with self._lock:
            con, self._con = self._con, None
        if spawner is not None:
            spawner.close()
        if con is not None:
            con.close()

    def __enter__(self) -> SpanStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
