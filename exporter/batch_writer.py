"""What the in-app exporters (spans, metrics, logs) share: writing a converted batch.

The file opens on the first write (`StoreOpener`: a file locked by another process gives one
warning, then a retry at most every `retry_interval_s`). Each batch is committed as one
transaction of Arrow inserts, so a True from `write` means it is durable. Nothing raises:
every batch that is not stored is counted in the exporter's `WriteStats` by reason.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping

import duckdb
import pyarrow as pa

from crewscope.exporter.opener import StoreOpener, WarnOnce, WriteStats
from crewscope.exporter.store import SpanStore

CREWSCOPE_DB = "CREWSCOPE_DB"
"""Path of the DuckDB file the exporters write; default ``./crewscope.duckdb``."""
DEFAULT_DB_PATH = "./crewscope.duckdb"


class BatchWriter:
    """One exporter's handle on the file: opening, committing, counting, shutting down."""

    def __init__(
        self,
        path: str | None,
        *,
        what: str,
        stats: WriteStats,
        logger: logging.Logger,
        retry_interval_s: float,
        duckdb_config: dict[str, str] | None,
    ) -> None:
        self.path = path = path or os.environ.get(CREWSCOPE_DB) or DEFAULT_DB_PATH
        self.stats = stats
        self.stopped = False
        self._what = what
        self._lock = threading.Lock()
        self._store: SpanStore | None = None
        self._logger = logger
        self._warnings = WarnOnce(logger)
        self._opener = StoreOpener(
            path, what=what, stats=stats, warnings=self._warnings, logger=logger,
            config=duckdb_config, retry_interval_s=retry_interval_s,
        )  # fmt: skip

    @property
    def store(self) -> SpanStore | None:
        """The open store, or None."""
        return self._store

    def drop(self, reason: str, count: int) -> None:
        """Count `count` items that will not be stored."""
        with self._lock:
            self.stats.drop(reason, count)

    def failed(self, exc: BaseException, count: int) -> None:
        """Count a batch lost to an unexpected error of crewscope's own (warned once)."""
        with self._lock:
            self.stats.drop("internal_error", count)
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self._warnings.warn(
                "internal", "crewscope %s exporter error: %r", self._what, exc, exc_info=True
            )

    def write_converted(self, name: str, table: pa.Table, failed: int) -> bool:
        """Commit a converted batch to table `name`; the `failed` items that could not be
        converted are counted, and a batch with none left is not stored (False)."""
        if failed:
            self.drop("conversion_error", failed)
            if not table.num_rows:
                return False
        return self.write({name: table}, table.num_rows)

    def write(self, tables: Mapping[str, pa.Table], rows: int) -> bool:
        """Commit `tables` (`rows` items in all) together; False, counted, if not stored."""
        with self._lock:
            if self.stopped:
                self.stats.drop("shutdown", rows)
                return False
            if self._store is None:
                self._store = self._opener.open()
            store = self._store
            if store is None:
                self.stats.drop(self.stats.state, rows)
                return False
            try:
                store.append_tables(tables)
            except (duckdb.Error, pa.ArrowException) as exc:  # disk full, invalidated, bad data
                self.stats.drop("write_error", rows)
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                self._warnings.warn(
                    "write", "crewscope: writing %s to %s failed: %s", self._what, self.path, exc
                )
                if isinstance(exc, duckdb.FatalException) or "invalidated" in str(exc):
                    store.close()  # DuckDB invalidated the connection: reopen next time
                    self._store = None
                    self.stats.state = "unavailable"
                return False
            self.stats.wrote(rows)
            self.stats.batches_written += 1
            self.stats.last_write_unix_ns = time.time_ns()
            self._warnings.recovered("write")
        return True

    def shutdown(self) -> None:
        """Close the file; later writes return False."""
        with self._lock:
            self.stopped = True
            self.stats.state = "shutdown"
            store, self._store = self._store, None
        if store is not None:
            store.close()
