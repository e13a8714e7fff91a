"""`AccountedSpanProcessor` (what ``configure()`` puts in front of every span exporter): exact
counts of what became of each span, in process, against destinations that block, fail,
raise or never answer (the SDK's in-memory exporter behind a gate)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crewscope.instrumentation.span_accounting import AccountedSpanProcessor


class Gated(SpanExporter):
    """Waits for `gate` before each export; then stores, fails or raises."""

    def __init__(self, outcome: str = "ok") -> None:
        self.gate = threading.Event()
        self.memory = InMemorySpanExporter()
        self.outcome = outcome

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.gate.wait()
        if self.outcome == "raise":
            raise ConnectionError("destination exploded")
        if self.outcome == "fail":
            return SpanExportResult.FAILURE
        return self.memory.export(spans)

    def shutdown(self) -> None:
        self.gate.set()


def spans(processor: AccountedSpanProcessor, n: int) -> None:
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    for i in range(n):
        with tracer.start_as_current_span("s", attributes={"i": i}):
            pass


def make(exporter: SpanExporter, **kw: float) -> AccountedSpanProcessor:
    return AccountedSpanProcessor(exporter, max_queue_size=64, max_export_batch_size=16, **kw)


def test_a_blocked_exporter_overflows_the_queue_and_every_span_is_counted() -> None:
    exporter = Gated()
    processor = make(exporter)
    spans(processor, 500)  # the exporter is stuck on its first batch meanwhile
    live = processor.counts()
    assert live.offered == 500
    assert live.dropped_queue_full > 0
    exporter.gate.set()
    processor.shutdown()
    c = processor.counts()
    stored = len(exporter.memory.get_finished_spans())
    assert c.exported == stored > 0
    assert c.queued == 0 and c.failed == 0 and c.dropped_shutdown == 0
    assert c.offered == c.exported + c.dropped_queue_full == 500
    assert 500 - 64 - 16 <= c.dropped_queue_full  # at most a queue and a batch got through


def test_failures_and_exceptions_are_counted_never_raised(caplog) -> None:
    for outcome in ("fail", "raise"):
        exporter = Gated(outcome)
        exporter.gate.set()
        processor = make(exporter)
        spans(processor, 40)
        processor.shutdown()
        c = processor.counts()
        assert c.failed == 40 and c.exported == 0 and c.lost == 40
    assert [r.getMessage() for r in caplog.records].count(
        "crewscope: Gated could not export 16 spans; the app carries on, later losses are "
        "counted in Telemetry.span_stats()"
    ) == 1  # once per processor, for "fail"; the raising one names its exception


def test_spans_after_shutdown_are_dropped_at_shutdown() -> None:
    exporter = Gated()
    exporter.gate.set()
    processor = make(exporter)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("before"):
        pass
    processor.shutdown()
    with tracer.start_as_current_span("after"):
        pass
    c = processor.counts()
    assert (c.offered, c.exported, c.dropped_shutdown, c.queued) == (2, 1, 1, 0)


def test_shutdown_gives_up_on_a_destination_that_never_answers() -> None:
    class Never(Gated):
        def shutdown(self) -> None:
            pass  # like an HTTP request already on the wire: shutting down does not end it

    exporter = Never()
    processor = make(exporter, shutdown_timeout_millis=300)
    spans(processor, 50)  # one batch in the exporter, the rest queued
    t0 = time.monotonic()
    processor.shutdown()
    assert time.monotonic() - t0 < 0.3 + 0.5 + 0.5
    c = processor.counts()
    assert c.offered == 50 and c.exported == 0
    assert c.queued == 16  # the batch stuck in the exporter
    assert c.dropped_shutdown == 50 - 16 - c.dropped_queue_full
    exporter.gate.set()  # it answers at last: counted then
    time.sleep(0.2)
    assert processor.counts().exported == 16 and processor.counts().queued == 0
