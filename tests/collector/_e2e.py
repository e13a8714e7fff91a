"""Helpers for the end-to-end tests: crewscope serve, crew-shaped load, counts per hop.

* ``start_crewscope()`` runs ``create_app`` (what ``crewscope serve`` runs) under a real
  uvicorn in a thread of the test process, so a test can read the receiver's queue stats
  and the DuckDB file through the server's own store.
* ``start_crewscope_cli()`` runs the real ``crewscope serve`` command in a subprocess (a
  process of its own, as users run it); progress is read from its health endpoint and the
  file is read once the process has stopped.
* ``crew_like_spans()`` makes crew-shaped traces with the SDK (20 spans each, with token
  usage) and ``export_spans()`` sends them with the official OTLP/gRPC exporter.
* ``hop_counts()`` collects the span counts at each hop for assertion messages.

Loaded by path from the test module (the tests are not a package).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPANS_PER_TRACE = 20
CHUNK_SPANS = 256
"""Spans per SDK export request. A divisor of the Collector's ``send_batch_size`` (1024 in
otel-collector.yaml), so every batch the Collector sends holds at most 1024 spans."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], bool], timeout: float, interval: float = 0.05
) -> tuple[bool, float]:
    """Poll ``predicate`` until true or ``timeout``; return (ok, seconds waited)."""
    started = time.monotonic()
    while True:
        if predicate():
            return True, time.monotonic() - started
        if time.monotonic() - started > timeout:
            return False, time.monotonic() - started
        time.sleep(interval)


# --- crewscope serve, in a thread -------------------------------------------------------


@dataclass
class Crewscope:
    """``create_app`` under uvicorn in a thread; stop with ``stop()``."""

    url: str
    db_path: str
    app: Any
    server: Any
    thread: threading.Thread

    @property
    def receiver(self) -> Any:
        return self.app.state.receiver

    def stats(self) -> dict[str, Any]:
        """The receiver's queue stats (spans_accepted, spans_written, requests_refused_full, ...)."""
        return dict(self.receiver.stats())

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self.receiver.store.cursor()
        try:
            return list(cur.execute(sql, params or []).fetchall())
        finally:
            cur.close()

    def count(self) -> int:
        return int(self.rows("SELECT count(*) FROM otel_traces")[0][0])

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def start_crewscope(db_path: Path, **create_app_kwargs: Any) -> Crewscope:
    import uvicorn

    from crewscope.query_api.app import create_app

    create_app_kwargs.setdefault("rollup_interval_s", 0)
    create_app_kwargs.setdefault("retention_days", None)
    app = create_app(str(db_path), **create_app_kwargs)
    for _ in range(3):  # a fresh port per attempt, in case another process took it
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        thread = threading.Thread(target=server.run, name="crewscope-serve", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if server.started:
            return Crewscope(f"http://127.0.0.1:{port}", str(db_path), app, server, thread)
        server.should_exit = True
        thread.join(5)
    raise RuntimeError("crewscope (uvicorn) did not start")


# --- crewscope serve, the real command in a subprocess ----------------------------------


@dataclass
class CrewscopeCli:
    """``crewscope serve --db X --port P --grpc ''`` in a subprocess."""

    proc: subprocess.Popen[bytes]
    url: str
    db_path: Path
    log_path: Path

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(
            f"{self.url}/api/v1/monitoring/system/health", timeout=5
        ) as resp:
            document = json.loads(resp.read())
        return {s["name"]: s.get("metrics", {}) for s in document["service_statuses"]}

    def span_count(self) -> int:
        return int(self.health()["database"]["spans"])

    def refused_spans(self) -> int:
        return int(self.health()["ingest_queue"]["dropped"])

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def start_crewscope_cli(
    db_path: Path, log_path: Path, env: dict[str, str], timeout: float = 30.0
) -> CrewscopeCli:
    command = Path(sys.executable).with_name("crewscope")
    port = free_port()
    log = log_path.open("ab")
    proc = subprocess.Popen(
        [str(command), "serve", "--db", str(db_path), "--port", str(port), "--grpc", "",
         "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    log.close()
    served = CrewscopeCli(proc, f"http://127.0.0.1:{port}", db_path, log_path)

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"crewscope serve exited ({proc.returncode}):\n{served.log_tail()}")
        try:
            served.health()
            return True
        except (urllib.error.URLError, OSError):
            return False

    ok, _ = wait_until(up, timeout, interval=0.1)
    if not ok:
        served.stop()
        raise RuntimeError(f"crewscope serve not up after {timeout:.0f}s:\n{served.log_tail()}")
    return served


# --- load --------------------------------------------------------------------------------


def crew_like_spans(traces: int, service: str, run: str = "load") -> list[Any]:
    """``traces`` crew-shaped traces of ``SPANS_PER_TRACE`` spans, made by the SDK.

    workflow -> 3 x (task -> agent -> chat, tool, chat, chat) + a final chat: the names,
    kinds and gen_ai/crewai attributes the instrumentation writes, tokens on every chat.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("crewscope.tests.e2e")

    def chat(n: int) -> None:
        with tracer.start_as_current_span(
            "chat gpt-4o-mini",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 100 + n,
                "gen_ai.usage.output_tokens": 10 + n,
            },
        ):
            pass

    for i in range(traces):
        with tracer.start_as_current_span(
            "invoke_workflow load_crew",
            attributes={
                "gen_ai.operation.name": "invoke_workflow",
                "crewai.crew.name": "load_crew",
                "crewscope.test.run": run,
                "crewscope.test.trace": i,
            },
        ):
            for t in range(3):
                with tracer.start_as_current_span(
                    f"crewai.task task{t}", attributes={"crewai.task.name": f"task{t}"}
                ):
                    with tracer.start_as_current_span(
                        "invoke_agent Researcher",
                        attributes={
                            "gen_ai.operation.name": "invoke_agent",
                            "gen_ai.agent.name": "Researcher",
                        },
                    ):
                        chat(t)
                        with tracer.start_as_current_span(
                            "execute_tool word_counter",
                            attributes={
                                "gen_ai.operation.name": "execute_tool",
                                "gen_ai.tool.name": "word_counter",
                            },
                        ):
                            pass
                        chat(t + 1)
                        chat(t + 2)
            chat(9)
    provider.shutdown()
    spans = list(memory.get_finished_spans())
    assert len(spans) == traces * SPANS_PER_TRACE
    return spans


def export_spans(
    grpc_endpoint: str, spans: Sequence[Any], chunk: int = CHUNK_SPANS, threads: int = 4
) -> float:
    """Send ``spans`` to a Collector with the official OTLP/gRPC exporter, ``chunk`` spans
    per request from ``threads`` threads; every request must succeed. Returns seconds."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    chunks = [spans[i : i + chunk] for i in range(0, len(spans), chunk)]
    local = threading.local()
    exporters: list[Any] = []
    lock = threading.Lock()

    def send(part: Sequence[Any]) -> SpanExportResult:
        exporter = getattr(local, "exporter", None)
        if exporter is None:
            exporter = OTLPSpanExporter(
                endpoint=f"http://{grpc_endpoint}", insecure=True, timeout=30
            )
            local.exporter = exporter
            with lock:
                exporters.append(exporter)
        return exporter.export(part)

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="otlp-send") as pool:
            results = list(pool.map(send, chunks))
    finally:
        for exporter in exporters:
            exporter.shutdown()
    failed = [i for i, r in enumerate(results) if r is not SpanExportResult.SUCCESS]
    assert not failed, f"{len(failed)} of {len(chunks)} export requests to the Collector failed"
    return time.monotonic() - started


def hex_span_id(span: Any) -> str:
    return f"{span.get_span_context().span_id:016x}"


# --- a backlog in the Collector's persistent queue, released at once ---------------------


def queue_backlog(collector: Any, spans: Sequence[Any], timeout: float = 20.0) -> float:
    """Send ``spans`` to a Collector whose crewscope endpoint is closed, and wait until the
    batch processor has handed all of them to the exporter's persistent queue.

    Returns the number of batches queued."""
    export_spans(collector.grpc_endpoint, spans)
    ok, _ = wait_until(
        lambda: collector.metric("otelcol_processor_batch_batch_send_size_sum") >= len(spans),
        timeout,
        interval=0.1,
    )
    assert ok, f"the Collector's batch processor did not pass on {len(spans)} spans"
    return collector.metric("otelcol_processor_batch_batch_send_size_count")


def release_backlog(collector: Any, crewscope_url: str) -> float:
    """Restart the Collector (same ports and queue directory) pointed at ``crewscope_url``:
    on start its queue consumers all take a queued batch and send it at once. Returns the
    monotonic time at which the new process was started (the old one has stopped)."""
    assert collector.process.stop() == 0
    collector.process.env["CREWSCOPE_OTLP_ENDPOINT"] = crewscope_url
    started = time.monotonic()
    collector.process.start()
    return started


# --- counts per hop ----------------------------------------------------------------------


@dataclass
class Hops:
    """Span counts at each hop, in order; ``str()`` is one line per hop."""

    counts: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.counts[key]

    def __str__(self) -> str:
        width = max(map(len, self.counts), default=0)
        return "\n".join(f"  {k:<{width}}  {v:g}" for k, v in self.counts.items())


def hop_counts(
    collector: Any,
    sent: int,
    crewscope: Crewscope | None = None,
    exporters: Sequence[str] = ("otlp_http/crewscope",),
    sink: Any | None = None,
) -> Hops:
    """SDK -> Collector receiver -> each Collector exporter -> crewscope receiver -> DuckDB,
    and the sink's files."""
    hops = Hops()
    hops.counts["sdk: spans sent to the Collector"] = sent
    hops.counts["collector: otelcol_receiver_accepted_spans"] = collector.metric(
        "otelcol_receiver_accepted_spans"
    )
    hops.counts["collector: otelcol_receiver_refused_spans"] = collector.metric(
        "otelcol_receiver_refused_spans"
    )
    for exporter in exporters:
        for metric in ("sent", "send_failed"):
            hops.counts[f"collector: otelcol_exporter_{metric}_spans{{{exporter}}}"] = (
                collector.metric(f"otelcol_exporter_{metric}_spans", exporter=exporter)
            )
    if crewscope is not None:
        stats = crewscope.stats()
        for key in ("spans_accepted", "spans_written", "requests_refused_full",
                    "spans_refused_full"):  # fmt: skip
            hops.counts[f"crewscope receiver: {key}"] = stats[key]
        hops.counts["crewscope DuckDB: rows in otel_traces"] = crewscope.count()
    if sink is not None:
        for destination in ("jaeger", "tempo"):
            hops.counts[f"sink: spans in {destination} file"] = len(sink.spans(destination))
    return hops


def env_for_subprocess(**extra: str) -> dict[str, str]:
    """The test process's environment (network guard, offline settings) plus ``extra``."""
    netguard = Path(__file__).resolve().parents[1] / "_netguard"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(netguard), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env
