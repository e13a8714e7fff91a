"""crewscope serve's own HTTP server spans, stored in its own database.

The app's ``TracerProvider`` (see `prometheus.ServerTelemetry`) samples out the OTLP ingest
routes, ``/metrics`` and the live WebSocket (`ExcludeRoutes`), and `QueueSpanProcessor` hands
the other server spans to the receiver's ingest queue from a background thread, through a
bounded buffer, so a request never waits and a full queue only counts drops.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, get_current_span
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from crewscope.exporter.receiver.otlp_receiver import OtlpReceiver

logger = logging.getLogger(__name__)


CREWSCOPE_SELF_TELEMETRY = "CREWSCOPE_SELF_TELEMETRY"
"""``false``: no HTTP instrumentation of the server (``/metrics`` keeps the collectors)."""
SELF_SERVICE_NAME = "crewscope"


def self_telemetry_enabled() -> bool:
    return os.environ.get(CREWSCOPE_SELF_TELEMETRY, "true").strip().lower() != "false"


class ExcludeRoutes(Sampler):
    """Drops server spans of the given routes (and children of unsampled parents)."""

    def __init__(self, routes: Iterable[str]) -> None:
        self.routes = frozenset(routes)

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        parent = get_current_span(parent_context).get_span_context()
        if parent.is_valid and not parent.trace_flags.sampled:
            return SamplingResult(Decision.DROP)
        route = (attributes or {}).get("http.route") or name.rsplit(" ", 1)[-1]
        if route in self.routes:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return f"ExcludeRoutes({sorted(self.routes)})"


class QueueSpanProcessor(SpanProcessor):
    """Ended spans -> a bounded buffer -> (thread, every ``interval_s``) the ingest queue."""

    def __init__(
        self, receiver: OtlpReceiver, max_buffer: int = 10_000, interval_s: float = 0.5
    ) -> None:
        self.receiver = receiver
        self.max_buffer = max_buffer
        self.interval_s = interval_s
        self.dropped = 0
        self.submitted = 0
        self._buf: deque[ReadableSpan] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="crewscope-self-spans", daemon=True)
        self._thread.start()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            if len(self._buf) >= self.max_buffer:
                self.dropped += 1
                return
            self._buf.append(span)

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            self._flush()

    def _flush(self) -> None:
        from crewscope.exporter.span_exporter import spans_to_table

        with self._lock:
            spans, self._buf = list(self._buf), deque()
        if not spans:
            return
        try:
            table, failed = spans_to_table(spans)
            self.dropped += failed
            queue = self.receiver.queue
            if queue.submit(table, table.num_rows, self.receiver.span_writer, "traces") is None:
                self.dropped += table.num_rows  # queue full or closed: never wait for it
            else:
                self.submitted += table.num_rows
        except Exception:
            self.dropped += len(spans)
            logger.debug("crewscope: own spans not stored", exc_info=True)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self._flush()
        return True

    def shutdown(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(5)
        self._flush()
