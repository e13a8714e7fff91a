"""The log scrubber runs before exporting processors added earlier.

``opentelemetry-instrument`` (and apps that set up logging first) add their exporting
processors to the LoggerProvider before any instrumentor runs. A synchronous exporter among
them would export a record before a scrubber appended after it could redact it; the
instrumentor therefore puts its run-context and scrubbing processors first.
"""

from __future__ import annotations

import logging

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import (
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)

from crewscope.instrumentation import CrewAIInstrumentor

CANARY = "sk-proj-" + "Zq8" * 12


class BodiesAtExport(LogRecordExporter):
    """Keeps each body as it was when exported (a record is mutable until then)."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def export(self, batch):  # type: ignore[no-untyped-def]
        self.bodies.extend(str(r.log_record.body) for r in batch)
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def test_synchronous_exporter_added_first_sees_scrubbed_records(_tracing):
    provider_tracer, _ = _tracing
    loggers = LoggerProvider()
    early = BodiesAtExport()
    loggers.add_log_record_processor(SimpleLogRecordProcessor(early))  # before instrumenting
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider_tracer, logger_provider=loggers)
    handler = LoggingHandler(logger_provider=loggers)
    log = logging.getLogger("tests.scrub_order")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("calling the provider with api_key=%s", CANARY)
    finally:
        log.removeHandler(handler)
        instrumentor.uninstrument()
    loggers.shutdown()
    [body] = early.bodies
    assert CANARY not in body and "[REDACTED]" in body
