"""An instrumented app for the crash tests: the demo crew kicked off in a loop, spans to a
DuckDB file through crewscope's in-process exporter, until it is killed.

    python crash_app.py DB JOURNAL FAKE_LLM_URL

The tracer provider is the app's own (``CrewAIInstrumentor().instrument(tracer_provider=...)``,
a documented setup) with the SDK's `BatchSpanProcessor` in front of crewscope's
`DuckDBSpanExporter`, exporting small batches often; a second thread makes plain spans
of the app's own (5-span traces) so the exporter is committing most of the time. What the
test needs to know is appended to JOURNAL (flushed, so it survives a SIGKILL):

* ``B <n> <span ids>``: batch n handed to the DuckDB exporter (written before the export);
* ``S <n> <trace ids>``: the traces batch n holds spans of;
* ``D <n> <SUCCESS|FAILURE>``: what the export returned;
* ``T <trace id> <spans>``: a trace whose spans have all ended (a kickoff or a 5-span tree).

The journal's exporter only delegates to crewscope's: every batch is written by it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

SERVICE = "crash-app"
USER_TRACE_SPANS = 5


class Journal:
    def __init__(self, path: str) -> None:
        self._file = open(path, "a", buffering=1)  # for the life of the process
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            self._file.write(text + "\n")
            self._file.flush()


class JournalingExporter(SpanExporter):
    """Notes each batch, then hands it to the real exporter."""

    def __init__(self, inner: SpanExporter, journal: Journal) -> None:
        self.inner = inner
        self.journal = journal
        self.batches = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.batches += 1
        n = self.batches
        ids = ",".join(f"{s.context.span_id:016x}" for s in spans if s.context)
        traces = ",".join(sorted({f"{s.context.trace_id:032x}" for s in spans if s.context}))
        self.journal.line(f"B {n} {ids}")
        self.journal.line(f"S {n} {traces}")
        result = self.inner.export(spans)
        self.journal.line(f"D {n} {result.name}")
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class TraceCounter(SpanProcessor):
    """Counts ended spans per trace (what a complete trace holds)."""

    def __init__(self) -> None:
        self.ended: Counter[int] = Counter()
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None:
            with self._lock:
                self.ended[span.context.trace_id] += 1

    def count(self, trace_id: int) -> int:
        with self._lock:
            return self.ended[trace_id]


def main(db: str, journal_path: str, llm_url: str) -> None:
    from crewscope.demo.crew import build_crew, make_llm
    from crewscope.exporter import DuckDBSpanExporter
    from crewscope.instrumentation import CrewAIInstrumentor

    journal = Journal(journal_path)
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    counter = TraceCounter()
    provider.add_span_processor(counter)
    exporter = JournalingExporter(DuckDBSpanExporter(db), journal)
    # A queue the busy thread cannot fill in a trial's few seconds: when full, the SDK's
    # queue evicts its oldest spans (a trace's first children) and keeps the root, which
    # would leave a trace "stored with its root but not whole" that no export lost.
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter, max_queue_size=1_000_000, schedule_delay_millis=20, max_export_batch_size=64
        )
    )
    CrewAIInstrumentor().instrument(tracer_provider=provider)
    tracer = provider.get_tracer("crash-app")

    def busy() -> None:
        while True:
            with tracer.start_as_current_span("user_work") as root:
                for i in range(USER_TRACE_SPANS - 1):
                    with tracer.start_as_current_span(f"user_step {i}", attributes={"i": i}):
                        pass
            trace_id = root.get_span_context().trace_id
            journal.line(f"T {trace_id:032x} {counter.count(trace_id)}")
            time.sleep(0.002)

    crew = build_crew(make_llm(llm_url))
    threading.Thread(target=busy, name="busy", daemon=True).start()
    n = 0
    while True:
        with tracer.start_as_current_span("kickoff_loop") as loop:
            crew.kickoff(inputs={"topic": f"crash {n}"})
        trace_id = loop.get_span_context().trace_id
        journal.line(f"T {trace_id:032x} {counter.count(trace_id)}")
        n += 1
        print(f"kicked {n}", flush=True)
        if os.environ.get("CRASH_APP_KICKOFFS") and n >= int(os.environ["CRASH_APP_KICKOFFS"]):
            provider.shutdown()
            return


if __name__ == "__main__":
    main(*sys.argv[1:4])
