"""Bursty load through the real Collector into ``crewscope serve``, restarted mid-load.

SDK (official OTLP/gRPC exporter) -> the repo's otel-collector.yaml (``retry_on_failure``,
``sending_queue`` in ``file_storage``) -> the real ``crewscope serve`` command, its own
process, with an ingest queue of 1024 spans (one of the Collector's batches): six
bursts over about a minute, each larger than that queue, so the receiver sheds with
503 + ``Retry-After`` and the Collector throttles and retries. After the third burst
``crewscope serve`` is stopped (SIGTERM, as a restart does) while spans are still on their
way; the fourth burst arrives while it is down (the Collector queues it on disk) and the
server starts again on the same port and file. At the end every span sent is in the file
exactly once.

Skips with the reason shown where no Go toolchain is found (``otelcol_binary``).
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest


def _load(name: str, file: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(file))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
    return sys.modules[name]


e2e = _load("crewscope_tests_collector_e2e", "_e2e.py")
harness = _load("crewscope_tests_collector_harness", "_collector.py")

SERVICE = "crewscope-bursty"
QUEUE_SPANS = 1024
"""The receiver's ingest queue: one Collector batch (send_batch_size 1024, and the SDK's
256-span requests never make a batch larger, so every batch fits alone), so the Collector's
four queue consumers sending at once find it full."""
BURSTS = (400, 900, 250, 700, 500, 1000)
"""Traces per burst (x 20 spans: 8k to 20k spans, each far more than the ingest queue)."""
BURST_EVERY_S = 10.0
RESTART_AFTER = 2
"""Index of the burst after which crewscope serve is restarted (the next one finds it down)."""
DOWN_S = 2.0
SERVE_ENV = {"CREWSCOPE_SELF_TELEMETRY": "false", "CREWSCOPE_INGEST_QUEUE_SPANS": str(QUEUE_SPANS)}
"""Self-telemetry off: the server's own request spans would land in the same table."""
COLLECTOR_ENV = {
    "OTELCOL_TRACES_EXPORTERS": "[otlp_http/crewscope]",
    "OTELCOL_METRICS_EXPORTERS": "[otlp_http/crewscope]",
    "OTELCOL_LOGS_EXPORTERS": "[otlp_http/crewscope]",
}
SETTLE_S = 3.0
"""After everything landed: wait this long, then count again (a late retry would show)."""


class Serve:
    """``crewscope serve`` (the real command) on one port and file, started again at will."""

    def __init__(self, db_path: Path, log_path: Path) -> None:
        self.db_path = db_path
        self.log_path = log_path
        self.port = e2e.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = e2e.env_for_subprocess(**SERVE_ENV)
        self.cli: Any = None
        self.refused_requests = 0.0
        """503s answered for a full queue, summed over every run of the server."""

    def start(self, timeout: float = 60.0) -> None:
        command = Path(sys.executable).with_name("crewscope")
        with self.log_path.open("ab") as log:
            proc = subprocess.Popen(
                [str(command), "serve", "--db", str(self.db_path), "--port", str(self.port),
                 "--grpc", "", "--log-level", "warning"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
            )  # fmt: skip
        self.cli = e2e.CrewscopeCli(proc, self.url, self.db_path, self.log_path)

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"crewscope serve exited ({proc.returncode}):\n{self.tail()}")
            try:
                self.cli.health()
                return True
            except (urllib.error.URLError, OSError):
                return False

        ok, _ = e2e.wait_until(up, timeout, interval=0.1)
        assert ok, f"crewscope serve not up after {timeout:.0f}s:\n{self.tail()}"

    def stop(self) -> int | None:
        """SIGTERM (uvicorn finishes the requests in flight, the queue is written)."""
        if self.cli is None or self.cli.proc.poll() is not None:
            return None if self.cli is None else self.cli.proc.returncode
        try:
            self.refused_requests += self._refused()
        except (urllib.error.URLError, OSError):
            pass
        code = self.cli.stop(timeout=60)
        # uvicorn re-raises SIGTERM after its graceful shutdown (lifespan done, file closed)
        assert code in (0, -signal.SIGTERM), f"crewscope serve exited {code}:\n{self.tail()}"
        return code

    def _refused(self) -> float:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as resp:
            samples = harness.parse_prometheus_text(resp.read().decode())
        return sum(v for n, _, v in samples if n == "crewscope_ingest_requests_refused_total")

    def spans(self) -> int:
        try:
            return int(self.cli.span_count())
        except (urllib.error.URLError, OSError):  # down (restarting)
            return -1

    def tail(self) -> str:
        return self.cli.log_tail(40) if self.cli is not None else ""


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    served = Serve(tmp_path / "bursty.duckdb", tmp_path / "crewscope-serve.log")
    served.start()
    yield served
    if served.cli is not None and served.cli.proc.poll() is None:
        served.cli.stop()


def _queue_size(collector: Any) -> float:
    return float(
        collector.metric(
            "otelcol_exporter_queue_size", exporter="otlp_http/crewscope", data_type="traces"
        )
    )


def _log_lines(collector: Any, *words: str) -> list[str]:
    return [
        line
        for line in collector.process.log_text().splitlines()
        if "Will retry" in line and all(w in line for w in words)
    ]


@pytest.mark.timeout(300)
def test_bursts_and_a_restart_through_the_collector_land_every_span_exactly_once(
    start_main_collector: Any, serve: Serve
) -> None:
    collector = start_main_collector(None, crewscope_endpoint=serve.url, extra_env=COLLECTOR_ENV)
    sent: set[str] = set()
    timeline: list[str] = []
    started = time.monotonic()

    def note(what: str) -> None:
        timeline.append(f"  {time.monotonic() - started:6.1f}s  {what}")

    at_restart: tuple[int, int] = (0, 0)
    for i, traces in enumerate(BURSTS):
        time.sleep(max(0.0, started + i * BURST_EVERY_S - time.monotonic()))
        spans = e2e.crew_like_spans(traces, SERVICE, run=f"burst{i}")
        e2e.export_spans(collector.grpc_endpoint, spans, threads=4)  # each request must succeed
        sent |= {e2e.hex_span_id(s) for s in spans}
        note(f"burst {i}: {len(spans)} spans handed to the Collector ({len(sent)} so far); "
             f"crewscope has {serve.spans()}")  # fmt: skip
        if i == RESTART_AFTER:
            at_restart = (serve.spans(), len(sent))
            serve.stop()
            note(f"crewscope serve stopped (it had {at_restart[0]} of {at_restart[1]} spans)")
        elif i == RESTART_AFTER + 1:
            time.sleep(DOWN_S)
            serve.start()
            note(f"crewscope serve started again on the same port and file ({serve.spans()})")
    n = len(sent)
    assert n == sum(BURSTS) * e2e.SPANS_PER_TRACE

    def landed() -> bool:
        return serve.spans() >= n and _queue_size(collector) == 0

    ok, waited = e2e.wait_until(landed, timeout=150, interval=0.25)
    note(f"{'all landed' if ok else 'NOT all landed'} after {waited:.1f}s more: crewscope has "
         f"{serve.spans()}, Collector queue {_queue_size(collector):g}")  # fmt: skip
    time.sleep(SETTLE_S)
    settled = serve.spans()
    serve.stop()
    with duckdb.connect(str(serve.db_path), read_only=True) as con:
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT SpanId) FROM otel_traces WHERE ServiceName = ?",
            [SERVICE],
        ).fetchone() or (0, 0)
        stored = {r[0] for r in con.execute("SELECT SpanId FROM otel_traces").fetchall()}
    sent_spans = collector.metric("otelcol_exporter_sent_spans", exporter="otlp_http/crewscope")
    failed_spans = collector.metric(
        "otelcol_exporter_send_failed_spans", exporter="otlp_http/crewscope"
    )
    throttled = _log_lines(collector, "HTTP Status Code 503", "Throttle (1s)")
    refused_conn = _log_lines(collector, "connection refused")
    report = "\n".join([
        f"bursty load: {n} spans in {len(BURSTS)} bursts, crewscope serve restarted once",
        *timeline,
        f"  collector: otelcol_exporter_sent_spans {sent_spans:g}, send_failed {failed_spans:g}",
        f"  collector log: {len(throttled)} throttled retries after 503, "
        f"{len(refused_conn)} retries after connection refused",
        f"  crewscope serve: {serve.refused_requests:g} requests refused (queue full)",
        f"  crewscope file: {total} rows, {distinct} distinct span ids (sent {n})",
    ])  # fmt: skip
    print(f"\n{report}")
    assert ok, f"{report}\n{serve.tail()}"
    assert (total, distinct) == (n, n), report
    assert stored == sent, report
    assert settled == n, report
    # The load really overloaded the receiver, and the restart really hit it mid-load.
    assert serve.refused_requests > 0 and throttled, report
    assert at_restart[0] < at_restart[1], report
    assert refused_conn, f"no retry while crewscope serve was down\n{report}"
    assert sent_spans == n and failed_spans == 0, report
