"""Crew-run load for the crash tests, sent with the official OTLP exporters, and the numbers
the query API must give, computed in Python from the raw span rows of a file.

Each request holds whole crew runs (`tests.helpers.spans.build_run`: crew, tasks, steps, LLM
and tool calls, some failing) with unique span ids; a `Sender` thread exports them one
request at a time and records which requests were acknowledged (the exporter returned
SUCCESS, i.e. the receiver answered 2xx).
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from tests.helpers.spans import TaskSpec, build_run

LOAD_SERVICE = "crew-app"
"""`tests.helpers.spans.RESOURCE`'s service name: the load's spans, not the server's own."""
CREWS = ("alpha_crew", "beta_crew", "gamma_crew")
AGENTS = ("Researcher", "Writer", "Critic")


@dataclass
class Request:
    """One export request: its spans' ids and whether the receiver acknowledged it."""

    name: str
    spans: list[ReadableSpan]
    span_ids: frozenset[str] = frozenset()
    acked: bool = False
    sent: bool = False

    def __post_init__(self) -> None:
        self.span_ids = frozenset(f"{s.context.span_id:016x}" for s in self.spans if s.context)


def crew_runs(rng: random.Random, runs: int, now: datetime) -> list[ReadableSpan]:
    """`runs` crew kickoffs (1-3 tasks each, some failed), started in the last minute."""
    spans: list[ReadableSpan] = []
    for _ in range(runs):
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
        start = now - timedelta(seconds=rng.uniform(1, 60))
        spans.extend(build_run(rng, rng.choice(CREWS), start, tasks).spans)
    return spans


def make_requests(rng: random.Random, prefix: str, count: int) -> list[Request]:
    """`count` requests of 1-3 crew runs each (about 5-60 spans)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return [Request(f"{prefix}-{i}", crew_runs(rng, rng.randint(1, 3), now)) for i in range(count)]


class Sender(threading.Thread):
    """Exports `requests` one after another until they run out or `stop` is set."""

    def __init__(
        self, exporter: SpanExporter, requests: Sequence[Request], stop: threading.Event
    ) -> None:
        super().__init__(name=f"sender-{requests[0].name if requests else ''}", daemon=True)
        self.exporter = exporter
        self.requests = requests
        self.stop_event = stop
        self.first_ack = threading.Event()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            for request in self.requests:
                if self.stop_event.is_set():
                    return
                request.sent = True
                result = self.exporter.export(request.spans)
                request.acked = result is SpanExportResult.SUCCESS
                if request.acked:
                    self.first_ack.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)


def http_exporter(url: str, timeout_s: float) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=timeout_s)


def grpc_exporter(port: int, timeout_s: float) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, timeout=timeout_s)


# -- what the file holds, and what the API must say about it -------------------------------

SPAN_COLUMNS = (
    '"SpanId", "TraceId", "ParentSpanId", "GenAiOperation", "StatusCode", "InputTokens", '
    '"OutputTokens", "CrewName", "AgentName", "Timestamp", "CostUsd"'
)


@dataclass
class Raw:
    """The load's spans in a file, and the totals computed from them in Python."""

    span_ids: Counter[str]
    runs: int = 0
    failed_runs: int = 0
    run_input_tokens: int = 0
    run_output_tokens: int = 0
    executions: int = 0
    failed_executions: int = 0
    llm_calls: int = 0
    cost_usd: float = 0.0
    crew_daily: dict[tuple[str, str], tuple[int, int, int, int]] = field(default_factory=dict)
    """(day, crew) -> executions, failed, input tokens, output tokens."""
    agent_daily: dict[tuple[str, str], tuple[int, int, int, int]] = field(default_factory=dict)
    runs_by_id: dict[str, tuple[str, int, int, int, int]] = field(default_factory=dict)
    """run id -> status, input tokens, output tokens, task count, LLM calls."""
    server_spans: int = 0


def read_raw(db_path: Path) -> Raw:
    """Open the file read-only (it must open cleanly) and total the load's spans."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute(
            f'SELECT {SPAN_COLUMNS} FROM otel_traces WHERE "ServiceName" = $s', {"s": LOAD_SERVICE}
        ).fetchall()
        server_spans = con.execute(
            'SELECT count(*) FROM otel_traces WHERE "ServiceName" IS DISTINCT FROM $s',
            {"s": LOAD_SERVICE},
        ).fetchone()
    finally:
        con.close()
    return totals(rows, int(server_spans[0]) if server_spans else 0)


def totals(rows: Sequence[tuple[Any, ...]], server_spans: int = 0) -> Raw:
    raw = Raw(Counter(r[0] for r in rows), server_spans=server_spans)
    crew: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    agent: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    tasks_by_trace: Counter[str] = Counter()
    llm_by_trace: Counter[str] = Counter()
    run_rows = []
    for span_id, trace_id, parent, op, status, in_t, out_t, crew_name, agent_name, ts, cost in rows:
        failed = status == "Error"
        day = ts.date().isoformat()
        if op == "invoke_workflow" and not parent:
            raw.runs += 1
            raw.failed_runs += failed
            raw.run_input_tokens += in_t or 0
            raw.run_output_tokens += out_t or 0
            c = crew[(day, crew_name)]
            c[0] += 1
            c[1] += failed
            c[2] += in_t or 0
            c[3] += out_t or 0
            run_rows.append((span_id, trace_id, failed, in_t or 0, out_t or 0))
        elif op == "invoke_agent":
            raw.executions += 1
            raw.failed_executions += failed
            tasks_by_trace[trace_id] += 1
            a = agent[(day, agent_name)]
            a[0] += 1
            a[1] += failed
            a[2] += in_t or 0
            a[3] += out_t or 0
        elif op == "chat":
            raw.llm_calls += 1
            llm_by_trace[trace_id] += 1
            raw.cost_usd += cost or 0.0
    raw.crew_daily = {k: (v[0], v[1], v[2], v[3]) for k, v in crew.items()}
    raw.agent_daily = {k: (v[0], v[1], v[2], v[3]) for k, v in agent.items()}
    raw.runs_by_id = {
        span_id: ("failed" if failed else "completed", in_t, out_t, tasks_by_trace[trace_id],
                  llm_by_trace[trace_id])
        for span_id, trace_id, failed, in_t, out_t in run_rows
    }  # fmt: skip
    return raw
