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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

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

from crewscope.exporter.metric_rows import metrics_to_tables
from crewscope.exporter.opener import WriteStats
from crewscope.exporter.sdk_exporter import WriterExporter, WriterOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack


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
class MetricExporterStats(WriteStats, items="points"):
    """The metric exporter's counters (see `WriteStats`)."""

    points_written: int = 0
    points_dropped: int = 0


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


class DuckDBMetricExporter(WriterExporter[MetricExporterStats], MetricExporter):
    """Writes each collection as one transaction of columnar (Arrow) inserts (the file's
    lifecycle: `WriterExporter`)."""

    _what, _stats_type = "metrics", MetricExporterStats

    def __init__(
        self,
        path: str | None = None,
        *,
        preferred_temporality: dict[type, AggregationTemporality] | None = None,
        preferred_aggregation: dict[type, Aggregation] | None = None,
        **options: Unpack[WriterOptions],
    ) -> None:
        MetricExporter.__init__(
            self,
            preferred_temporality={**DEFAULT_TEMPORALITY, **(preferred_temporality or {})},
            preferred_aggregation=preferred_aggregation,
        )
        WriterExporter.__init__(self, path, **options)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Store `metrics_data`; never raises. FAILURE means nothing of it was stored."""
        if self._stored(lambda: self._write(metrics_data), lambda: _count_points(metrics_data)):
            return MetricExportResult.SUCCESS
        return MetricExportResult.FAILURE

    def _write(self, data: MetricsData) -> bool:
        tables, skipped = metrics_to_tables(data)  # outside the lock: the costly part
        tables = {name: self._stamp(table) for name, table in tables.items()}
        points = sum(t.num_rows for t in tables.values())
        if skipped:
            self._writer.drop("unsupported_type", skipped)
        # nothing to store is a success; one collection is all-or-nothing, durable once committed
        return not points or self._writer.write(tables, points)
