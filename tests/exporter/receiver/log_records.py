"""Log records for the receiver and query API tests: emitted through the SDK's LoggerProvider
and sent by the official OTLP log exporters (HTTP or gRPC)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

SEVERITIES = {
    "debug": (SeverityNumber.DEBUG, "DEBUG"),
    "info": (SeverityNumber.INFO, "INFO"),
    "warn": (SeverityNumber.WARN, "WARNING"),
    "error": (SeverityNumber.ERROR, "ERROR"),
    "fatal": (SeverityNumber.FATAL, "CRITICAL"),
}


@dataclass
class Rec:
    """One record to emit: body, level, the span it was emitted in and its attributes."""

    body: Any
    level: str = "info"
    trace_id: str | None = None
    span_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    timestamp_ns: int | None = None
    event_name: str | None = None


def records(recs: Iterable[Rec], service: str = "log-app") -> Sequence[ReadableLogRecord]:
    """The SDK's finished records for `recs` (in order)."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": service}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("crewscope.tests", "1.2.3")
    for r in recs:
        number, text = SEVERITIES[r.level]
        context = None
        if r.trace_id:
            span_context = SpanContext(
                int(r.trace_id, 16), int(r.span_id or "0" * 16, 16), False, TraceFlags(1)
            )
            context = set_span_in_context(NonRecordingSpan(span_context))
        logger.emit(
            timestamp=r.timestamp_ns, context=context, severity_number=number,
            severity_text=text, body=r.body, attributes=dict(r.attributes),
            event_name=r.event_name,
        )  # fmt: skip
    provider.shutdown()
    return memory.get_finished_logs()


def send_http(url: str, recs: Iterable[Rec], service: str = "log-app", **kwargs: Any) -> Any:
    """Send `recs` to ``{url}/v1/logs`` with the official OTLP/HTTP log exporter."""
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

    exporter = OTLPLogExporter(endpoint=f"{url}/v1/logs", **kwargs)
    try:
        return exporter.export(records(recs, service))
    finally:
        exporter.shutdown()
