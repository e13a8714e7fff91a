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


def send_demo_crew(
    traces_url: str,
    llm_url: str,
    name: str,
    *,
    headers: dict[str, str] | None = None,
    resource: dict[str, str] | None = None,
) -> None:
    """The demo crew `name`, instrumented in this process, its spans sent to `traces_url`
    with the official OTLP/HTTP exporter (`headers`: e.g. a bearer token)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from crewscope.demo.crew import build_crew, make_llm
    from crewscope.instrumentation import CrewAIInstrumentor

    provider = TracerProvider(resource=Resource.create(resource or {"service.name": name}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(traces_url, headers=headers)))
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        build_crew(make_llm(llm_url, max_retries=0), name=name).kickoff(inputs={"topic": name})
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
