"""What becomes of the spans an app ends: `AccountedSpanProcessor`, the SDK's batch span
processor with counts of every span exported, failed or dropped (`SpanCounts`), one warning
per kind of loss, and a bounded shutdown (``CREWSCOPE_SHUTDOWN_TIMEOUT_MS``). ``configure()``
puts one in front of every span exporter (`Telemetry.span_stats()`)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

logger = logging.getLogger(__name__)

CREWSCOPE_SHUTDOWN_TIMEOUT_MS = "CREWSCOPE_SHUTDOWN_TIMEOUT_MS"
"""How long ``shutdown()`` waits per span exporter for its last export (default 5000 ms)."""
DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000
SETTLE_S = 0.5
"""After that, how long the last export may take to end once its exporter is shut down."""


@dataclass
class SpanCounts:
    """What became of the spans offered to one span exporter (see `AccountedSpanProcessor`).

    ``offered == exported + failed + dropped_queue_full + dropped_shutdown + queued`` where
    ``queued`` is what waits in the queue or is being exported now (0 after ``shutdown()``).
    """

    exporter: str
    offered: int = 0
    """Sampled spans that ended while the processor was running, or after its shutdown."""
    exported: int = 0
    """In batches the exporter reported stored or sent."""
    failed: int = 0
    """In batches the exporter reported failed (or that raised)."""
    dropped_queue_full: int = 0
    dropped_shutdown: int = 0
    """Ended after shutdown, or still queued when shutdown stopped waiting."""
    queued: int = 0

    @property
    def lost(self) -> int:
        return self.failed + self.dropped_queue_full + self.dropped_shutdown

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lost": self.lost}


class _CountingExporter(SpanExporter):
    """Hands batches to `inner`, counting what it reports; never raises."""

    def __init__(self, inner: SpanExporter, owner: AccountedSpanProcessor) -> None:
        self.inner = inner
        self._owner = owner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        owner = self._owner
        owner._handed(len(spans))
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # noqa: BLE001 - a third-party exporter: count, never raise
            owner._done(len(spans), SpanExportResult.FAILURE, exc)
            return SpanExportResult.FAILURE
        owner._done(len(spans), result, None)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))


class AccountedSpanProcessor(BatchSpanProcessor):
    """The SDK's `BatchSpanProcessor` (same queue, batching and `OTEL_BSP_*` settings) that
    counts what becomes of every span (`counts()`), logs the first loss of each kind once,
    and bounds its shutdown wait to `shutdown_timeout_millis` (default
    ``CREWSCOPE_SHUTDOWN_TIMEOUT_MS``, else 5000). The queue and batch settings default to
    the SDK's (``OTEL_BSP_*``).

    Queue-full drops are what was offered but neither handed to the exporter nor queued;
    the queue's length is the SDK's internal state, read defensively (0 if it moved).
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        shutdown_timeout_millis: float | None = None,
        max_queue_size: int | None = None,
        schedule_delay_millis: float | None = None,
        max_export_batch_size: int | None = None,
    ) -> None:
        self.exporter = exporter
        self._lock = threading.Lock()
        self._counts = SpanCounts(type(exporter).__name__)
        self._handed_total = 0
        self._after_shutdown = 0
        self._abandoned = 0
        self._stopped = False
        self._warned: set[str] = set()
        self.shutdown_timeout_millis = (
            shutdown_timeout_millis if shutdown_timeout_millis is not None else _shutdown_ms()
        )
        super().__init__(
            _CountingExporter(exporter, self), max_queue_size=max_queue_size,
            schedule_delay_millis=schedule_delay_millis,
            max_export_batch_size=max_export_batch_size,
        )  # fmt: skip

    def _queue_len(self) -> int:
        queue = getattr(self._batch_processor, "_queue", None)
        try:
            return len(queue) if queue is not None else 0
        except TypeError:
            return 0

    def _queue_full(self) -> bool:
        queue = getattr(self._batch_processor, "_queue", None)
        maxlen = getattr(queue, "maxlen", None)
        return maxlen is not None and self._queue_len() >= maxlen

    def on_end(self, span: ReadableSpan) -> None:
        if not (span.context and span.context.trace_flags.sampled):
            return  # not offered: the SDK's processor ignores it too
        full = False
        with self._lock:
            self._counts.offered += 1
            if self._stopped:
                self._after_shutdown += 1
            else:
                full = self._queue_full()
        if full:
            self._warn_once(
                "queue_full",
                "crewscope: the span queue for %s is full (%d spans): spans are dropped "
                "until the exporter catches up; counts in Telemetry.span_stats()",
                self._counts.exporter, self._queue_len(),
            )  # fmt: skip
        super().on_end(span)

    def _handed(self, count: int) -> None:
        with self._lock:
            self._handed_total += count

    def _done(self, count: int, result: SpanExportResult, exc: BaseException | None) -> None:
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self._counts.exported += count
            else:
                self._counts.failed += count
        if result is not SpanExportResult.SUCCESS:
            self._warn_once(
                "failed",
                "crewscope: %s could not export %d spans%s; the app carries on, later "
                "losses are counted in Telemetry.span_stats()",
                self._counts.exporter, count, f" ({exc!r})" if exc is not None else "",
            )  # fmt: skip

    def _warn_once(self, kind: str, msg: str, *args: object) -> None:
        with self._lock:
            if kind in self._warned:
                return
            self._warned.add(kind)
        logger.warning(msg, *args)

    def counts(self) -> SpanCounts:
        """A snapshot; exact once the processor is shut down or flushed and idle."""
        with self._lock:
            c = self._counts
            queued = 0 if self._stopped else self._queue_len()
            in_flight = self._handed_total - c.exported - c.failed
            return SpanCounts(
                c.exporter, c.offered, c.exported, c.failed,
                dropped_queue_full=max(
                    0,
                    c.offered - self._after_shutdown - self._handed_total - queued
                    - self._abandoned,
                ),
                dropped_shutdown=self._after_shutdown + self._abandoned,
                queued=queued + in_flight,
            )  # fmt: skip

    def shutdown(self) -> None:
        """Export what is queued, waiting at most `shutdown_timeout_millis`; what is still
        queued then is counted as dropped at shutdown."""
        self._batch_processor.shutdown(timeout_millis=int(self.shutdown_timeout_millis))
        # The SDK has now shut the exporter down, which ends the retries of an export still
        # running: a moment more lets its outcome be counted.
        worker = getattr(self._batch_processor, "_worker_thread", None)
        if isinstance(worker, threading.Thread) and worker.is_alive():
            worker.join(SETTLE_S)
        with self._lock:
            self._abandoned = self._queue_len()
            self._stopped = True


def _shutdown_ms() -> float:
    raw = os.environ.get(CREWSCOPE_SHUTDOWN_TIMEOUT_MS, "").strip()
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            logger.warning(
                "%s=%r is not a number of milliseconds", CREWSCOPE_SHUTDOWN_TIMEOUT_MS, raw
            )
    return float(DEFAULT_SHUTDOWN_TIMEOUT_MS)
