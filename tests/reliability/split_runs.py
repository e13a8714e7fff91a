"""Crew runs whose spans arrive over several OTLP requests, as apps and Collectors send them,
and the totals each run must show once all of it has arrived.

A `SplitWriter` thread exports one request after another with the official OTLP/HTTP
exporter. Each request starts new runs (`tests.helpers.spans.build_run`, started just now,
so the newest runs are the ones still arriving) and carries later parts of the runs started
by the requests before it:

* ``children_first`` runs (most): descendants in two requests, the crew span last, in the
  order a BatchSpanProcessor exports them (a span ends after its children). Once the run is
  visible, all of it is there.
* ``late`` runs: the crew span and some descendants first, the rest `LATE_TICKS` requests
  later (spans from another process, or held up in a Collector). The run is visible while
  incomplete: a read then must still agree with itself.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from tests.helpers.spans import TaskSpec, build_run
from tests.reliability.load import AGENTS, CREWS

LATE_SHARE = 0.3
LATE_TICKS = (20, 80)
"""A late run's last part goes this many requests (uniform) after its first."""


@dataclass(frozen=True)
class Totals:
    """What a run's detail counts, as `SpanCounts` names them, plus the crew span's tokens."""

    spans: int
    tasks: int
    steps: int
    llm_calls: int
    tool_calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    failed: bool


def totals_of(spans: list[ReadableSpan]) -> Totals:
    op = [str((s.attributes or {}).get("gen_ai.operation.name", "")) for s in spans]
    [root] = [s for s in spans if s.parent is None]
    attrs = root.attributes or {}
    return Totals(
        spans=len(spans),
        tasks=op.count("invoke_agent"),
        steps=sum(1 for s in spans if s.name.startswith("step ")),
        llm_calls=op.count("chat"),
        tool_calls=op.count("execute_tool"),
        errors=sum(1 for s in spans if s.status.status_code is StatusCode.ERROR),
        input_tokens=int(attrs.get("gen_ai.usage.input_tokens", 0)),  # type: ignore[arg-type]
        output_tokens=int(attrs.get("gen_ai.usage.output_tokens", 0)),  # type: ignore[arg-type]
        failed=root.status.status_code is StatusCode.ERROR,
    )


@dataclass
class SentRun:
    run_id: str
    crew: str
    late: bool
    totals: Totals
    span_ids: frozenset[str]
    parts: int
    acked_parts: int = 0

    @property
    def complete(self) -> bool:
        return self.acked_parts == self.parts


def new_run(rng: random.Random, now: datetime) -> tuple[SentRun, list[list[ReadableSpan]]]:
    """A run started just before `now` and its spans cut into the parts to send, in order."""
    tasks = [
        TaskSpec(
            agent=rng.choice(AGENTS),
            task=f"task{t}",
            duration_ms=rng.uniform(5, 50),
            failed=rng.random() < 0.15,
            steps=rng.randint(1, 3),
            tool_fails=rng.random() < 0.2,
            input_tokens=rng.randint(10, 500),
            output_tokens=rng.randint(1, 100),
        )  # fmt: skip
        for t in range(rng.randint(1, 3))
    ]
    built = build_run(rng, rng.choice(CREWS), now - timedelta(milliseconds=300), tasks)
    root, below = built.spans[0], built.spans[1:]
    cut = rng.randint(1, len(below) - 1) if len(below) > 1 else len(below)
    late = rng.random() < LATE_SHARE and len(below) > 1
    parts = [[root, *below[:cut]], below[cut:]] if late else [below[:cut], [*below[cut:], root]]
    parts = [p for p in parts if p]
    assert root.context is not None and root.attributes is not None
    run = SentRun(
        run_id=f"{root.context.span_id:016x}", crew=str(root.attributes["crewai.crew.name"]),
        late=late, totals=totals_of(built.spans), parts=len(parts),
        span_ids=frozenset(f"{s.context.span_id:016x}" for s in built.spans if s.context),
    )  # fmt: skip
    return run, parts


def new_run_in_parts(rng: random.Random) -> tuple[SentRun, list[list[ReadableSpan]]]:
    """A late run (the crew span in the first part) of at least two parts."""
    while True:
        run, parts = new_run(rng, datetime.now(timezone.utc).replace(tzinfo=None))
        if run.late:
            return run, parts


class SplitWriter(threading.Thread):
    """Exports requests until `stop` (then sends the parts still due, so every run it started
    is whole), each with 1-3 new runs and the parts of earlier runs due at this request;
    every run it starts goes into `registry` (by run id) before any of it is sent."""

    def __init__(
        self,
        name: str,
        exporter: SpanExporter,
        seed: int,
        stop: threading.Event,
        registry: dict[str, SentRun],
    ) -> None:
        super().__init__(name=f"writer-{name}", daemon=True)
        self.exporter = exporter
        self.registry = registry
        self.rng = random.Random(seed)
        self.stop_event = stop
        self.runs: list[SentRun] = []
        self.requests = self.failed_requests = self.spans_acked = 0
        self.errors: list[BaseException] = []
        self._due: dict[int, list[tuple[SentRun, list[ReadableSpan]]]] = defaultdict(list)

    def _tick(self, tick: int, start_new: bool) -> None:
        if start_new:
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            for _ in range(self.rng.randint(1, 3)):
                run, parts = new_run(self.rng, now)
                self.runs.append(run)
                self.registry[run.run_id] = run
                for i, part in enumerate(parts):
                    later = self.rng.randint(*LATE_TICKS) if run.late else 1
                    self._due[tick + i * later].append((run, part))
        due = self._due.pop(tick, [])
        if not due:
            return
        self.requests += 1
        spans = [s for _, part in due for s in part]
        if self.exporter.export(spans) is SpanExportResult.SUCCESS:
            self.spans_acked += len(spans)
            for run, _ in due:
                run.acked_parts += 1
        else:
            self.failed_requests += 1

    def run(self) -> None:
        tick = 0
        try:
            while not self.stop_event.is_set():
                self._tick(tick, start_new=True)
                tick += 1
            while self._due:  # the parts still owed: every run started is sent whole
                self._tick(min(self._due), start_new=False)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)


def arriving(writers: list[SplitWriter], recent: int = 200) -> list[SentRun]:
    """Late runs of the last `recent` each writer started that are visible (their first
    part, with the crew span, acknowledged) but not yet whole."""
    return [r for w in writers for r in w.runs[-recent:] if r.late and r.acked_parts == 1]


def wait_all(writers: list[SplitWriter], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for writer in writers:
        writer.join(max(0.0, deadline - time.monotonic()))
        assert not writer.is_alive(), f"{writer.name} still sending after {timeout_s}s"
