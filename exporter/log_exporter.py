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

from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from crewscope.exporter.log_rows import records_to_table
from crewscope.exporter.opener import WriteStats
from crewscope.exporter.sdk_exporter import WriterExporter


@dataclass
class LogExporterStats(WriteStats, items="records"):
    """The log exporter's counters (see `WriteStats`)."""

    records_written: int = 0
    records_dropped: int = 0


class DuckDBLogExporter(WriterExporter[LogExporterStats], LogRecordExporter):
    """Writes each batch of log records to DuckDB as one committed Arrow insert (the file's
    lifecycle: `WriterExporter`)."""

    _what, _stats_type = "logs", LogExporterStats

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Write `batch`; never raises. FAILURE means the batch was not stored."""
        stored = self._stored_rows(batch, "otel_logs", records_to_table)
        return LogRecordExportResult.SUCCESS if stored else LogRecordExportResult.FAILURE
