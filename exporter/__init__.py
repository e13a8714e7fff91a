"""crewscope.exporter: OpenTelemetry spans, metrics and logs into a local DuckDB file.

Zero-code: ``OTEL_TRACES_EXPORTER=duckdb OTEL_METRICS_EXPORTER=duckdb OTEL_LOGS_EXPORTER=duckdb
opentelemetry-instrument python app.py`` (file from ``CREWSCOPE_DB``, default
``./crewscope.duckdb``). In code::

    provider.add_span_processor(BatchSpanProcessor(DuckDBSpanExporter("runs.duckdb")))
    reader = PeriodicExportingMetricReader(DuckDBMetricExporter("runs.duckdb"))
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(DuckDBLogExporter(...)))
"""

from crewscope.exporter.batch_writer import CREWSCOPE_DB
from crewscope.exporter.log_exporter import DuckDBLogExporter, LogExporterStats
from crewscope.exporter.metric_exporter import DuckDBMetricExporter, MetricExporterStats
from crewscope.exporter.span_exporter import DuckDBSpanExporter, ExporterStats
from crewscope.exporter.store import SpanStore

__all__ = [
    "CREWSCOPE_DB",
    "DuckDBLogExporter",
    "DuckDBMetricExporter",
    "DuckDBSpanExporter",
    "ExporterStats",
    "LogExporterStats",
    "MetricExporterStats",
    "SpanStore",
]
