"""OTLP request bodies for the receiver tests."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

PB = {"Content-Type": "application/x-protobuf"}
"""Headers of an OTLP/HTTP protobuf request."""


def some_spans(n: int = 3) -> tuple[ReadableSpan, ...]:
    """`n` finished SDK spans of one trace: a chat parent and `n - 1` children."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "unit"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("parent", attributes={"gen_ai.operation.name": "chat"}):
        for i in range(n - 1):
            with tracer.start_as_current_span(f"child{i}", attributes={"i": i}):
                pass
    return exporter.get_finished_spans()
