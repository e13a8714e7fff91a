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
from dataclasses import dataclass
from typing import Any, Final

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

from crewscope.exporter.batch_writer import BatchWriter
from crewscope.exporter.metric_rows import (
    metrics_to_tables,
)
from crewscope.exporter.opener import WriteStats

logger = logging.getLogger(__name__)


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

    def wrote(self, count: int) -> None:
        self.points_written += count


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
        self.stats = MetricExporterStats()
        self._writer = BatchWriter(
            path, what="metrics", stats=self.stats, logger=logger,
            retry_interval_s=retry_interval_s, duckdb_config=duckdb_config,
        )  # fmt: skip
        self.path = self._writer.path

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Store `metrics_data`; never raises. FAILURE means nothing of it was stored."""
        try:
            return self._export(metrics_data)
        except Exception as exc:  # noqa: BLE001 - SDK contract: export never raises into the app
            self._writer.failed(exc, _count_points(metrics_data))
            return MetricExportResult.FAILURE

    def _export(self, data: MetricsData) -> MetricExportResult:
        if self._writer.stopped:
            self._writer.drop("shutdown", _count_points(data))
            return MetricExportResult.FAILURE
        tables, skipped = metrics_to_tables(data)  # outside the lock: the costly part
        points = sum(t.num_rows for t in tables.values())
        if skipped:
            self._writer.drop("unsupported_type", skipped)
        if not points:
            return MetricExportResult.SUCCESS
        # one collection is all-or-nothing, durable once committed
        stored = self._writer.write(tables, points)
        return MetricExportResult.SUCCESS if stored else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Nothing is buffered here: every successful export is already committed."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Close the connection; later exports return FAILURE."""
        self._writer.shutdown()
