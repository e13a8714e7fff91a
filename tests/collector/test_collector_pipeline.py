"""Spans, metrics and logs through the repo's Collector config to a second OTLP destination.

The SDK sends with the official OTLP/gRPC exporters into the main Collector
(otel-collector.yaml); Jaeger, Tempo, Mimir and Loki are played by the sink Collector,
which writes what arrives to JSON lines. crewscope is pointed at a closed port: its
exporter only retries, which must not hold back the other destinations.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

SERVICE = "crewscope-collector-test"
# Local delivery takes about 1-2 s (batch processor timeout 1s); this is only a ceiling.
ARRIVAL_TIMEOUT_S = 30.0


def make_spans(run: str = "run-1") -> list[ReadableSpan]:
    """A small crew-shaped trace: workflow -> agent -> chat (with token usage)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.collector")
    with tracer.start_as_current_span(
        "invoke_workflow demo_crew",
        attributes={"gen_ai.operation.name": "invoke_workflow", "crewscope.test.run": run},
    ):
        with tracer.start_as_current_span(
            "invoke_agent Researcher", attributes={"gen_ai.agent.name": "Researcher"}
        ):
            with tracer.start_as_current_span(
                "chat fake-model",
                kind=SpanKind.CLIENT,
                attributes={
                    "gen_ai.request.model": "fake-model",
                    "gen_ai.usage.input_tokens": 12,
                    "gen_ai.usage.output_tokens": 34,
                },
            ):
                pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def send_spans(grpc_endpoint: str, spans: Sequence[ReadableSpan]) -> None:
    exporter = OTLPSpanExporter(endpoint=f"http://{grpc_endpoint}", insecure=True, timeout=10)
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()


def hex_ids(span: ReadableSpan) -> tuple[str, str, str]:
    """(traceId, spanId, parentSpanId) as OTLP JSON writes them."""
    ctx = span.get_span_context()
    assert ctx is not None
    parent = f"{span.parent.span_id:016x}" if span.parent else ""
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}", parent


def assert_same_spans(sent: Sequence[ReadableSpan], arrived: dict[str, dict[str, Any]]) -> None:
    by_id = {hex_ids(s)[1]: s for s in sent}
    assert set(arrived) == set(by_id), f"missing spans: {set(by_id) - set(arrived)}"
    for span_id, got in arrived.items():
        span = by_id[span_id]
        trace_id, _, parent_id = hex_ids(span)
        assert got["traceId"] == trace_id
        assert got.get("parentSpanId", "") == parent_id
        assert got["name"] == span.name
        assert got["_resource"]["service.name"] == SERVICE
    chat = next(g for g in arrived.values() if g["name"] == "chat fake-model")
    attributes = {a["key"]: a["value"] for a in chat["attributes"]}
    assert attributes["gen_ai.usage.input_tokens"] == {"intValue": "12"}
    assert attributes["gen_ai.usage.output_tokens"] == {"intValue": "34"}
    assert chat["kind"] == 3  # SPAN_KIND_CLIENT


def wait_for_log_line(process: Any, *parts: str, timeout: float = 15.0) -> None:
    """Wait for a log line that contains every one of ``parts``."""
    deadline = time.monotonic() + timeout
    while not any(all(p in line for p in parts) for line in process.log_text().splitlines()):
        assert time.monotonic() < deadline, f"no line with {parts} in {process.log_path}"
        time.sleep(0.1)


def test_spans_arrive_at_second_destination_with_same_ids(
    main_collector: Any, otlp_sink: Any
) -> None:
    spans = make_spans()
    span_ids = [hex_ids(s)[1] for s in spans]
    started = time.monotonic()
    send_spans(main_collector.grpc_endpoint, spans)

    for destination in ("jaeger", "tempo"):
        arrived = otlp_sink.wait_for_spans(destination, span_ids, timeout=ARRIVAL_TIMEOUT_S)
        assert_same_spans(spans, arrived)
    elapsed = time.monotonic() - started
    # crewscope is down and retrying; the other destinations must not wait for it.
    assert elapsed < 10, f"delivery took {elapsed:.1f}s"
    # Each destination got each span exactly once.
    for destination in ("jaeger", "tempo"):
        ids = [s["spanId"] for s in otlp_sink.spans(destination)]
        assert sorted(ids) == sorted(span_ids)
    assert main_collector.process.ready()

    # Span counts at each hop, from the Collector's own metrics; crewscope's copy waits
    # in its queue.
    assert main_collector.metric("otelcol_receiver_accepted_spans") == len(spans)
    for exporter in ("otlp_grpc/jaeger", "otlp_http/tempo"):
        sent = main_collector.wait_for_metric(
            "otelcol_exporter_sent_spans", len(spans), exporter=exporter
        )
        assert sent == len(spans), exporter
    assert main_collector.metric("otelcol_exporter_sent_spans", exporter="otlp_http/crewscope") == 0
    assert (
        main_collector.metric(
            "otelcol_exporter_queue_size", exporter="otlp_http/crewscope", data_type="traces"
        )
        >= 1
    )


def test_metrics_arrive_at_mimir_destination(main_collector: Any, otlp_sink: Any) -> None:
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"http://{main_collector.grpc_endpoint}", insecure=True),
        export_interval_millis=60_000,
    )
    provider = MeterProvider(
        resource=Resource.create({"service.name": SERVICE}), metric_readers=[reader]
    )
    meter = provider.get_meter("tests.collector")
    meter.create_counter("crewscope.test.executions").add(3, {"gen_ai.agent.name": "Researcher"})
    meter.create_histogram("gen_ai.client.token.usage", unit="{token}").record(46)
    provider.shutdown()  # final collection and export

    wanted = {"crewscope.test.executions", "gen_ai.client.token.usage"}
    assert otlp_sink.wait_for_metrics(wanted, timeout=ARRIVAL_TIMEOUT_S) == wanted


def test_logs_arrive_at_loki_destination_with_span_ids(main_collector: Any, otlp_sink: Any) -> None:
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs.export import LogRecordExportResult

    from tests.exporter.receiver.log_records import Rec, records

    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    recs = [
        Rec("tool failed", "error", trace_id, span_id, {"gen_ai.agent.name": "Researcher"}),
        Rec("plain record", "info"),
    ]
    exporter = OTLPLogExporter(
        endpoint=f"http://{main_collector.grpc_endpoint}", insecure=True, timeout=10
    )
    try:
        assert exporter.export(records(recs, SERVICE)) is LogRecordExportResult.SUCCESS
    finally:
        exporter.shutdown()
    wanted = {"tool failed", "plain record"}
    assert otlp_sink.wait_for_log_bodies(wanted, timeout=ARRIVAL_TIMEOUT_S) == wanted
    failed = next(r for r in otlp_sink.log_records() if r["body"]["stringValue"] == "tool failed")
    assert (failed["traceId"], failed["spanId"]) == (trace_id, span_id)
    assert failed["severityNumber"] == 17
    assert main_collector.metric("otelcol_receiver_accepted_log_records") == 2


def test_starts_without_destinations_and_queue_survives_restart(
    start_main_collector: Any, start_sink: Any
) -> None:
    # No destination is running: the Collector must start, accept data and queue it.
    collector = start_main_collector(sink=None)
    spans = make_spans(run="queued")
    send_spans(collector.grpc_endpoint, spans)
    for exporter in ("otlp_grpc/jaeger", "otlp_http/tempo"):
        wait_for_log_line(collector.process, "Exporting failed. Will retry", f'"{exporter}"')
    assert collector.process.ready()

    # A clean stop leaves the batches in the persistent queue (file_storage).
    started = time.monotonic()
    assert collector.process.stop() == 0
    assert time.monotonic() - started < 10

    # The destinations come up; the restarted Collector sends what it had queued.
    sink = start_sink()
    collector.process.env.update(
        JAEGER_OTLP_ENDPOINT=sink.jaeger_endpoint,
        TEMPO_OTLP_ENDPOINT=sink.tempo_endpoint,
        MIMIR_OTLP_ENDPOINT=sink.mimir_endpoint,
        LOKI_OTLP_ENDPOINT=sink.loki_endpoint,
    )
    collector.process.start()
    span_ids = [hex_ids(s)[1] for s in spans]
    for destination in ("jaeger", "tempo"):
        arrived = sink.wait_for_spans(destination, span_ids, timeout=ARRIVAL_TIMEOUT_S)
        assert_same_spans(spans, arrived)
