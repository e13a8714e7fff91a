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
from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from crewscope.exporter.batch_writer import BatchWriter
from crewscope.exporter.log_rows import records_to_table
from crewscope.exporter.opener import WriteStats

logger = logging.getLogger(__name__)


@dataclass
class LogExporterStats(WriteStats):
    """The log exporter's counters (see `WriteStats`)."""

    records_written: int = 0
    records_dropped: int = 0

    def drop(self, reason: str, count: int) -> None:
        self.records_dropped += count
        self.count_dropped(reason, count)

    def wrote(self, count: int) -> None:
        self.records_written += count


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
        self.stats = LogExporterStats()
        self._writer = BatchWriter(
            path, what="logs", stats=self.stats, logger=logger,
            retry_interval_s=retry_interval_s, duckdb_config=duckdb_config,
        )  # fmt: skip
        self.path = self._writer.path

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Write `batch`; never raises. FAILURE means the batch was not stored."""
        try:
            return self._export(batch)
        except Exception as exc:  # noqa: BLE001 - SDK contract: export never raises into the app
            self._writer.failed(exc, _count(batch))
            return LogRecordExportResult.FAILURE

    def _export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self._writer.stopped:
            self._writer.drop("shutdown", len(batch))
            return LogRecordExportResult.FAILURE
        if not batch:
            return LogRecordExportResult.SUCCESS
        table, failed = records_to_table(batch)  # outside the lock: the costly part
        if failed:  # counted; the rest are stored
            self._writer.drop("conversion_error", failed)
            if not table.num_rows:
                return LogRecordExportResult.FAILURE
        stored = self._writer.write({"otel_logs": table}, table.num_rows)
        return LogRecordExportResult.SUCCESS if stored else LogRecordExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered here: every successful export is already committed."""
        return True

    def shutdown(self) -> None:
        """Close the file; later exports return FAILURE."""
        self._writer.shutdown()


def _count(batch: Sequence[ReadableLogRecord]) -> int:
    try:
        return len(batch)
    except TypeError:
        return 0
