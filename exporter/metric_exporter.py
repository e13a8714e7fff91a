"""`DuckDBMetricExporter`: OTel SDK metrics into ``otel_metrics_{gauge,sum,histogram}``.

Zero-code: ``OTEL_METRICS_EXPORTER=duckdb opentelemetry-instrument python app.py`` (file from
``CREWSCOPE_DB``, default ``./crewscope.duckdb``). In code::

    reader = PeriodicExportingMetricReader(DuckDBMetricExporter("runs.duckdb"), 2000)
    MeterProvider(metric_readers=[reader])

It can share the file with `DuckDBSpanExporter` in the same process: DuckDB's Python client
hands every ``connect()`` of one path (with the same configuration) the same database
instance, so both exporters hold connections to one database and never hit the file lock.
Keep ``duckdb_config`` equal between them, or DuckDB refuses the second connection.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Final

import duckdb
import pyarrow as pa
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.metrics.view import Aggregation

from crewscope.exporter.metric_rows import (
    metrics_to_tables,
)
from crewscope.exporter.opener import StoreOpener, WarnOnce, WriteStats
from crewscope.exporter.store import SpanStore

logger = logging.getLogger(__name__)

CREWSCOPE_DB: Final = "CREWSCOPE_DB"
DEFAULT_DB_PATH: Final = "./crewscope.duckdb"

_INSERT = 'INSERT INTO {table} BY NAME SELECT * FROM "{view}"'

# Counters and histograms as DELTA: a series is written only in intervals where it changed,
# and a time range's total is a plain SUM. Observable instruments (process stats) and
# up-down counters stay CUMULATIVE: each row is the current value. (The SDK's "lowmemory"
# temporality preference.)
DEFAULT_TEMPORALITY: Final[dict[type, AggregationTemporality]] = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
    UpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableCounter: AggregationTemporality.CUMULATIVE,
    ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableGauge: AggregationTemporality.CUMULATIVE,
}


@dataclass
class MetricExporterStats(WriteStats):
    """The metric exporter's counters (see `WriteStats`)."""

    points_written: int = 0
    points_dropped: int = 0

    def drop(self, reason: str, count: int) -> None:
        self.points_dropped += count
        self.count_dropped(reason, count)


def _count_points(data: MetricsData) -> int:
    """Points in `data`, for the drop counters; 0 if it is too malformed to count."""
    try:
        return sum(
            len(m.data.data_points)
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        )
    except (AttributeError, TypeError):
        return 0


class DuckDBMetricExporter(MetricExporter):
    """Writes each collection as one transaction of columnar (Arrow) inserts.

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
        preferred_temporality: dict[type, AggregationTemporality] | None = None,
        preferred_aggregation: dict[type, Aggregation] | None = None,
    ) -> None:
        super().__init__(
            preferred_temporality={**DEFAULT_TEMPORALITY, **(preferred_temporality or {})},
            preferred_aggregation=preferred_aggregation,
        )
        self.path = path or os.environ.get(CREWSCOPE_DB) or DEFAULT_DB_PATH
        self.stats = MetricExporterStats()
        self._lock = threading.Lock()
        self._store: SpanStore | None = None
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._stopped = False
        self._warnings = WarnOnce(logger)
        self._opener = StoreOpener(
            self.path, what="metrics", stats=self.stats, warnings=self._warnings, logger=logger,
            config=duckdb_config, retry_interval_s=retry_interval_s,
        )  # fmt: skip
        self._view = f"_crewscope_metrics_{id(self):x}"

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Store `metrics_data`; never raises. FAILURE means nothing of it was stored."""
        try:
            return self._export(metrics_data)
        except Exception as exc:  # noqa: BLE001 - SDK contract: export never raises into the app
            with self._lock:
                self.stats.drop("internal_error", _count_points(metrics_data))
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                self._warnings.warn("internal", "crewscope metric exporter error: %r", exc)
            return MetricExportResult.FAILURE

    def _export(self, data: MetricsData) -> MetricExportResult:
        if self._stopped:
            with self._lock:
                self.stats.drop("shutdown", _count_points(data))
            return MetricExportResult.FAILURE
        tables, skipped = metrics_to_tables(data)  # outside the lock: the costly part
        points = sum(t.num_rows for t in tables.values())
        with self._lock:
            self.stats.drop("unsupported_type", skipped)
            if self._stopped:
                self.stats.drop("shutdown", points)
                return MetricExportResult.FAILURE
            if not points:
                return MetricExportResult.SUCCESS
            cursor = self._open()
            if cursor is None:
                self.stats.drop(self.stats.state, points)
                return MetricExportResult.FAILURE
            try:
                self._write(cursor, tables)
            except (duckdb.Error, pa.ArrowException) as exc:  # disk full, invalidated, bad data
                self.stats.drop("write_error", points)
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                self._warnings.warn(
                    "write", "crewscope: writing metrics to %s failed: %s", self.path, exc
                )
                if isinstance(exc, duckdb.FatalException) or "invalidated" in str(exc):
                    self._close_store()
                    self.stats.state = "unavailable"
                return MetricExportResult.FAILURE
            self.stats.points_written += points
            self.stats.batches_written += 1
            self.stats.last_write_unix_ns = time.time_ns()
            self._warnings.recovered("write")
        return MetricExportResult.SUCCESS

    def _write(self, cursor: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> None:
        cursor.begin()
        try:
            for name, table in tables.items():
                cursor.register(self._view, table)
                try:
                    cursor.execute(_INSERT.format(table=name, view=self._view))
                finally:
                    cursor.unregister(self._view)
            cursor.commit()  # one collection is all-or-nothing, durable once committed
        except BaseException:
            try:
                cursor.rollback()
            except duckdb.Error:  # e.g. the connection is gone: the original error is what matters
                pass
            raise

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

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Nothing is buffered here: every successful export is already committed."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Close the connection; later exports return FAILURE."""
        with self._lock:
            self._stopped = True
            self.stats.state = "shutdown"
            self._close_store()
