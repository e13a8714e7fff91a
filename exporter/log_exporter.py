"""`DuckDBLogExporter`: OTel SDK log records into the ``otel_logs`` table of a DuckDB file.

Zero-code: ``OTEL_LOGS_EXPORTER=duckdb opentelemetry-instrument python app.py`` (with
``OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true`` for the app's ``logging`` records;
file from ``CREWSCOPE_DB``, default ``./crewscope.duckdb``). In code::

    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(BatchLogRecordProcessor(DuckDBLogExporter("runs.duckdb")))

It shares the file with `DuckDBSpanExporter` and `DuckDBMetricExporter` in one process the
way they share it with each other: each opens its own `SpanStore`, and DuckDB's Python client
hands every ``connect()`` of one path (with the same configuration) the same database
instance, so no exporter hits the file lock. Keep ``duckdb_config`` equal between them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import duckdb
import pyarrow as pa
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from crewscope.exporter.log_rows import records_to_table
from crewscope.exporter.opener import StoreOpener, WarnOnce, WriteStats
from crewscope.exporter.store import DEFAULT_DDL, SpanStore

logger = logging.getLogger(__name__)

CREWSCOPE_DB: Final = "CREWSCOPE_DB"
DEFAULT_DB_PATH: Final = "./crewscope.duckdb"

_INSERT: Final = 'INSERT INTO otel_logs BY NAME SELECT * FROM "{view}"'


@dataclass
class LogExporterStats(WriteStats):
    """The log exporter's counters (see `WriteStats`)."""

    records_written: int = 0
    records_dropped: int = 0

    def drop(self, reason: str, count: int) -> None:
        self.records_dropped += count
        self.count_dropped(reason, count)


class DuckDBLogExporter(LogRecordExporter):
    """Writes each batch of log records to DuckDB as one committed Arrow insert.

    Same contract as `DuckDBSpanExporter`: the file opens on the first export; a file locked
    by another process gives FAILURE (counted in `stats`) after one warning, retried at most
    every `retry_interval_s`; `export` never raises; FAILURE after `shutdown`.
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        retry_interval_s: float = 5.0,
        duckdb_config: dict[str, str] | None = None,
    ) -> None:
        self.path = path or os.environ.get(CREWSCOPE_DB) or DEFAULT_DB_PATH
        self.stats = LogExporterStats()
        self._lock = threading.Lock()
        self._store: SpanStore | None = None
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._stopped = False
        self._warnings = WarnOnce(logger)
        self._opener = StoreOpener(
            self.path, what="logs", stats=self.stats, warnings=self._warnings, logger=logger,
            config=duckdb_config, ddl=DEFAULT_DDL, retry_interval_s=retry_interval_s,
        )  # fmt: skip
        self._view = f"_crewscope_logs_{id(self):x}"

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Write `batch`; never raises. FAILURE means the batch was not stored."""
        try:
            return self._export(batch)
        except Exception as exc:  # noqa: BLE001 - SDK contract: export never raises into the app
            with self._lock:
                self.stats.drop("internal_error", _count(batch))
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                self._warnings.warn("internal", "crewscope log exporter error: %r", exc)
            return LogRecordExportResult.FAILURE

    def _export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self._stopped:
            with self._lock:
                self.stats.drop("shutdown", len(batch))
            return LogRecordExportResult.FAILURE
        if not batch:
            return LogRecordExportResult.SUCCESS
        table, failed = records_to_table(batch)  # outside the lock: the costly part
        with self._lock:
            if failed:
                self.stats.drop("conversion_error", failed)
                if not table.num_rows:
                    return LogRecordExportResult.FAILURE
            if self._stopped:
                self.stats.drop("shutdown", table.num_rows)
                return LogRecordExportResult.FAILURE
            cursor = self._open()
            if cursor is None:
                self.stats.drop(self.stats.state, table.num_rows)
                return LogRecordExportResult.FAILURE
            try:
                cursor.register(self._view, table)
                try:
                    # Autocommit: returning means the batch is in the WAL, i.e. durable.
                    cursor.execute(_INSERT.format(view=self._view))
                finally:
                    cursor.unregister(self._view)
            except (duckdb.Error, pa.ArrowException) as exc:  # disk full, invalidated, bad data
                self.stats.drop("write_error", table.num_rows)
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                self._warnings.warn(
                    "write", "crewscope: writing logs to %s failed: %s", self.path, exc
                )
                if isinstance(exc, duckdb.FatalException) or "invalidated" in str(exc):
                    self._close_store()
                    self.stats.state = "unavailable"
                return LogRecordExportResult.FAILURE
            self.stats.records_written += table.num_rows
            self.stats.batches_written += 1
            self.stats.last_write_unix_ns = time.time_ns()
            self._warnings.recovered("write")
        # Records that failed conversion are counted in stats; the rest are stored.
        return LogRecordExportResult.SUCCESS

    def _open(self) -> duckdb.DuckDBPyConnection | None:
        """A cursor on the database, opening it if due; None while it cannot be opened."""
        if self._cursor is None:
            store = self._opener.open()
            if store is None:
                return None
            try:
                self._cursor = store.cursor()
            except duckdb.Error as exc:  # counted by the caller as unavailable
                store.close()
                self.stats.state = "unavailable"
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                return None
            self._store = store
        return self._cursor

    def _close_store(self) -> None:
        cursor, self._cursor = self._cursor, None
        store, self._store = self._store, None
        for closable in (cursor, store):
            if closable is not None:
                try:
                    closable.close()
                except duckdb.Error:
                    logger.debug("crewscope: close failed", exc_info=True)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered here: every successful export is already committed."""
        return True

    def shutdown(self) -> None:
        """Close the connection; later exports return FAILURE."""
        with self._lock:
            self._stopped = True
            self.stats.state = "shutdown"
            self._close_store()


def _count(batch: Sequence[ReadableLogRecord]) -> int:
    try:
        return len(batch)
    except TypeError:
        return 0
