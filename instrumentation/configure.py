"""One call to trace CrewAI without ``opentelemetry-instrument``.

::

    from crewscope.instrumentation.configure import configure
    telemetry = configure()                       # DuckDB file ./crewscope.duckdb
    telemetry = configure(exporters=["duckdb", "otlp"])  # and OTLP to a Collector
    ...
    telemetry.shutdown()                          # flush and release the DuckDB file

Defaults follow the OpenTelemetry environment: ``OTEL_SERVICE_NAME``,
``OTEL_TRACES_EXPORTER`` (comma list of ``duckdb``, ``otlp``, ``console``; default
``duckdb``), ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_PROTOCOL``
(``http/protobuf`` default, or ``grpc``), ``CREWSCOPE_DB``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from crewscope.instrumentation import CrewAIInstrumentor

logger = logging.getLogger(__name__)


@dataclass
class Telemetry:
    """What ``configure`` set up; ``shutdown()`` flushes and closes everything."""

    tracer_provider: TracerProvider
    exporters: list[SpanExporter] = field(default_factory=list)
    instrumentor: CrewAIInstrumentor | None = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self.tracer_provider.force_flush(timeout_millis))

    def shutdown(self) -> None:
        if self.instrumentor is not None:
            self.instrumentor.uninstrument()
        self.tracer_provider.shutdown()


def _otlp_exporter(endpoint: str | None) -> SpanExporter:
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol.strip() == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter(endpoint=endpoint) if endpoint else GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if endpoint:  # a base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT is
        return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    return OTLPSpanExporter()


def _make_exporter(name: str, db_path: str | None, otlp_endpoint: str | None) -> SpanExporter:
    if name == "duckdb":
        from crewscope.exporter import DuckDBSpanExporter

        return DuckDBSpanExporter(db_path)
    if name == "otlp":
        return _otlp_exporter(otlp_endpoint)
    if name == "console":
        return ConsoleSpanExporter()
    raise ValueError(f"unknown traces exporter {name!r}: use duckdb, otlp or console")


def configure(
    *,
    service_name: str | None = None,
    exporters: Sequence[str] | None = None,
    db_path: str | None = None,
    otlp_endpoint: str | None = None,
    capture_content: bool | str | None = None,
    set_global: bool = True,
    resource_attributes: dict[str, Any] | None = None,
) -> Telemetry:
    """Tracer provider + batch processor per exporter + the CrewAI instrumentor."""
    if exporters is None:
        raw = os.environ.get("OTEL_TRACES_EXPORTER", "duckdb")
        exporters = [e.strip() for e in raw.split(",") if e.strip() and e.strip() != "none"]
    attributes = dict(resource_attributes or {})
    if service_name:
        attributes["service.name"] = service_name
    provider = TracerProvider(resource=Resource.create(attributes))
    made = [_make_exporter(name, db_path, otlp_endpoint) for name in exporters]
    for exporter in made:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)
    instrumentor = CrewAIInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(tracer_provider=provider, capture_content=capture_content)
    return Telemetry(provider, made, instrumentor)
