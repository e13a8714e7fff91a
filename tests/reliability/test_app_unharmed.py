"""Telemetry never harms the app: an instrumented real CrewAI crew (``configure()``, the demo
crew against the fake LLM) gives the same result, nothing raises into its code, its memory
stays bounded and its exit is not held up, whatever happens to the telemetry; every lost
span is counted (``telemetry.span_stats()``, ``offered == exported + lost``) and the loss is
logged once.

One app process (`harm_app.py`) runs the scenarios in turn:

* ``bare``: no crewscope: the results the others must give;
* ``healthy``: DuckDB, nothing lost: calibrates the spans per kickoff;
* ``otlp_down``: OTLP/HTTP to a loopback port nobody listens on (connection refused);
* ``otlp_slow``: OTLP/HTTP to a loopback server that sleeps before each answer, with a
  burst of the app's own spans (the queue overflows while the exporter waits);
* ``locked``: the DuckDB file is held by another process;
* ``disk_full``: every file the process writes is capped (RLIMIT_FSIZE, SIGXFSZ ignored);
* ``flood``: far more spans than the queue holds, into DuckDB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from tests.helpers.env import subprocess_env
from tests.reliability.serve_proc import free_port

APP = Path(__file__).with_name("harm_app.py")
KICKOFFS = 2
SLOW_REPLY_S = 1.5
SLOW_BURST = 6_000
FLOOD = 30_000
QUEUE = 2048  # the SDK's default OTEL_BSP_MAX_QUEUE_SIZE
FSIZE_LIMIT = 400_000
SHUTDOWN_BUDGET_S = 5.0 + 0.5 + 6.0
"""CREWSCOPE_SHUTDOWN_TIMEOUT_MS's default and the settle time, plus slack for a loaded
machine: far below the SDK's 30 s join plus the exporter's own retries."""
RSS_GROWTH_MIB = 150.0


class SlowCollector(ThreadingHTTPServer):
    """OTLP/HTTP on loopback that sleeps before each 200; counts the spans it was sent."""

    daemon_threads = True

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.spans = 0
        self.requests = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _SlowHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SlowHandler(BaseHTTPRequestHandler):
    server: SlowCollector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(self.server.delay_s)
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        with self.server.lock:
            self.server.spans += spans
            self.server.requests += 1
        reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def harmed(tmp_path_factory: pytest.TempPathFactory, fake_llm: Any) -> Iterator[dict[str, Any]]:
    """Runs every scenario once; yields the reports, the stderr per scenario and the paths."""
    tmp = tmp_path_factory.mktemp("unharmed")
    fake_llm.reset()
    locked_db = tmp / "locked.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('holding', flush=True); time.sleep(600)", str(locked_db)],
        stdout=subprocess.PIPE, text=True, env=subprocess_env(),
    )  # fmt: skip
    slow = SlowCollector(SLOW_REPLY_S)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        paths = {name: tmp / f"{name}.duckdb" for name in ("healthy", "disk_full", "flood")}
        scenarios = [
            {"name": "bare", "bare": True, "kickoffs": KICKOFFS},
            {"name": "healthy", "exporters": ["duckdb"], "db_path": str(paths["healthy"]),
             "kickoffs": KICKOFFS},
            {"name": "otlp_down", "exporters": ["otlp"], "kickoffs": KICKOFFS,
             "otlp_endpoint": f"http://127.0.0.1:{free_port()}"},
            {"name": "otlp_slow", "exporters": ["otlp"], "otlp_endpoint": slow.url,
             "kickoffs": KICKOFFS, "flood": SLOW_BURST},
            {"name": "locked", "exporters": ["duckdb"], "db_path": str(locked_db),
             "kickoffs": KICKOFFS},
            {"name": "disk_full", "exporters": ["duckdb"], "db_path": str(paths["disk_full"]),
             "kickoffs": KICKOFFS, "flood": 3_000, "fsize_limit": FSIZE_LIMIT},
            {"name": "flood", "exporters": ["duckdb"], "db_path": str(paths["flood"]),
             "kickoffs": KICKOFFS, "flood": FLOOD},
        ]  # fmt: skip
        spec = tmp / "scenarios.json"
        spec.write_text(json.dumps(scenarios))
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(APP), fake_llm.base_url, str(spec)],  # type: ignore[attr-defined]
            capture_output=True, text=True, timeout=400, env=subprocess_env(),
        )  # fmt: skip
        wall = time.monotonic() - started
    finally:
        slow.shutdown()
        slow.server_close()
        holder.kill()  # the lock holder this fixture started, by its pid
        holder.wait(10)
    assert proc.returncode == 0, proc.stderr[-4000:]
    reports = json.loads(proc.stdout.strip().splitlines()[-1])
    stderr: dict[str, str] = {}
    for part in proc.stderr.split("=== scenario ")[1:]:
        name, _, text = part.partition("\n")
        stderr[name] = text
    print(f"\nharm app: {len(scenarios)} scenarios in {wall:.1f}s")
    for name, report in reports.items():
        rss = report["rss_mib"]
        stats = report.get("span_stats") or [{}]
        print(
            f"  {name}: {report['seconds']}, RSS start {report['rss_start']:.0f} MiB, max "
            f"{max(rss):.0f} MiB; spans {stats[0]}"
        )
    yield {"reports": reports, "stderr": stderr, "paths": paths, "slow": slow}


def stored(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM otel_traces").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def counts(harmed: dict[str, Any], name: str) -> dict[str, Any]:
    report = harmed["reports"][name]
    [spans] = report["span_stats"]
    return dict(spans)


def crew_spans(harmed: dict[str, Any]) -> int:
    return int(counts(harmed, "healthy")["offered"])


SCENARIOS = ["healthy", "otlp_down", "otlp_slow", "locked", "disk_full", "flood"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_app_is_unharmed(harmed: dict[str, Any], name: str) -> None:
    """Same results as without crewscope, nothing raised, bounded memory and exit."""
    reports = harmed["reports"]
    report = reports[name]
    assert not report["errors"], report["errors"]
    assert report["results"] == reports["bare"]["results"]
    assert len(report["results"]) == KICKOFFS
    growth = max(report["rss_mib"]) - report["rss_start"]
    assert growth < RSS_GROWTH_MIB, f"RSS grew {growth:.0f} MiB from {report['rss_start']:.0f}"
    assert report["seconds"]["shutdown"] < SHUTDOWN_BUDGET_S, report["seconds"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_span_is_exported_or_counted_lost(harmed: dict[str, Any], name: str) -> None:
    c = counts(harmed, name)
    flood = {"otlp_slow": SLOW_BURST, "disk_full": 3_000, "flood": FLOOD}.get(name, 0)
    assert c["offered"] == crew_spans(harmed) + flood
    assert c["queued"] == 0
    assert c["offered"] == c["exported"] + c["lost"], c
    assert c["lost"] == c["failed"] + c["dropped_queue_full"] + c["dropped_shutdown"], c
    lost_logged = harmed["stderr"][name].count("crewscope: ") - harmed["stderr"][name].count(
        "crewscope: of "
    )
    if c["lost"]:
        # one line per kind of loss as it happens (crewscope's, not the SDK's), one summary
        # at shutdown
        kinds = (c["failed"] > 0) + (c["dropped_queue_full"] > 0)
        assert lost_logged >= kinds
        assert harmed["stderr"][name].count("crewscope: of ") == 1
    else:
        assert "crewscope: of " not in harmed["stderr"][name]


def test_healthy_loses_nothing(harmed: dict[str, Any]) -> None:
    c = counts(harmed, "healthy")
    assert c["lost"] == 0 and c["exported"] == c["offered"] > 0
    assert stored(harmed["paths"]["healthy"]) == c["exported"]


def test_destination_down_counts_every_span_failed(harmed: dict[str, Any]) -> None:
    c = counts(harmed, "otlp_down")
    assert c["exported"] == 0
    assert c["failed"] + c["dropped_shutdown"] == c["offered"]
    assert "could not export" in harmed["stderr"]["otlp_down"]


def test_slow_destination_overflows_the_queue_and_says_so(harmed: dict[str, Any]) -> None:
    c = counts(harmed, "otlp_slow")
    slow: SlowCollector = harmed["slow"]
    assert c["dropped_queue_full"] > 0, c
    # what the exporter reported sent is what the collector got (a request abandoned at
    # shutdown may have reached it too)
    assert c["exported"] <= slow.spans <= c["exported"] + c["dropped_shutdown"] + c["failed"]
    assert harmed["stderr"]["otlp_slow"].count("span queue for OTLPSpanExporter is full") == 1


def test_locked_file_counts_every_span_dropped(harmed: dict[str, Any]) -> None:
    c = counts(harmed, "locked")
    [stats] = harmed["reports"]["locked"]["exporter_stats"]
    assert c["exported"] == 0 and stats["spans_written"] == 0
    assert c["failed"] == stats["spans_dropped"] == stats["dropped_by_reason"]["locked"]
    assert c["failed"] + c["dropped_queue_full"] + c["dropped_shutdown"] == c["offered"]
    assert harmed["stderr"]["locked"].count("is locked by another process") == 1


def test_disk_full_keeps_what_fitted(harmed: dict[str, Any]) -> None:
    c = counts(harmed, "disk_full")
    [stats] = harmed["reports"]["disk_full"]["exporter_stats"]
    assert stats["dropped_by_reason"].get("write_error", 0) > 0, stats
    assert c["exported"] > 0, "nothing fitted: raise FSIZE_LIMIT"
    assert c["failed"] == stats["spans_dropped"]
    assert c["exported"] == stats["spans_written"]
    assert stored(harmed["paths"]["disk_full"]) == c["exported"]  # the file opens, intact
    assert harmed["stderr"]["disk_full"].count("File too large") >= 1


def test_flood_is_dropped_and_counted(harmed: dict[str, Any]) -> None:
    c = counts(harmed, "flood")
    assert c["dropped_queue_full"] > 0 and c["failed"] == 0
    assert stored(harmed["paths"]["flood"]) == c["exported"]
    assert c["exported"] + c["dropped_queue_full"] + c["dropped_shutdown"] == FLOOD + crew_spans(
        harmed
    )
