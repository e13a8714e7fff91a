"""Overload: memory of exporter and receiver, and query latency while the receiver sheds.

    .venv/bin/python bench/bench_overload.py [--seconds 30] [--only exporter|receiver|queries]

Exporter (in-process): first measures what BatchSpanProcessor + DuckDBSpanExporter can
write per second, then for `--seconds` offers finished spans to the processor at 10x that
rate (pre-built spans through ``on_end``, so offering costs almost nothing). The SDK queue is
bounded (2048): excess spans are dropped; dropped = offered - written. RSS sampled every 0.5 s.

Receiver (`crewscope serve` in its own process): 3 client processes post pre-encoded
8192-span OTLP/HTTP requests back to back for `--seconds`; the bounded ingest queue answers
503 (counted by the server as refused) once full. The server's RSS is sampled every 0.5 s.

"No growth" = the RSS of the last third of the run minus that of the middle third.

Queries (`_overload_queries`): the query endpoints of `bench_query.py` on one `crewscope
serve` over a generated file, unloaded vs while `--clients` processes offer it far more OTLP
than it can write (distinct spans per request, gzip, retried after ``Retry-After`` like the
Collector); phases interleaved, p50/p95 per endpoint and the ratio (target <= 2x); shed
responses and their ``Retry-After``; seconds until the server is idle, drained and accepting
again after the load stops.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _thirds(samples: list[float]) -> tuple[float, float]:
    n = len(samples)
    mid = samples[n // 3 : 2 * n // 3] or samples
    last = samples[2 * n // 3 :] or samples
    return statistics.median(mid), statistics.median(last)


def exporter_overload(seconds: float, tmp: str) -> dict[str, Any]:
    import logging

    from bench_exporter import make_spans
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from crewscope.exporter import DuckDBSpanExporter

    logging.getLogger("opentelemetry.sdk._shared_internal").setLevel(logging.ERROR)
    spans = make_spans(2048)
    me = psutil.Process()
    exp = DuckDBSpanExporter(os.path.join(tmp, "overload.duckdb"))
    proc = BatchSpanProcessor(exp)
    # capacity: offer generously for 3 s, see what gets written
    w0 = exp.stats.spans_written
    probe = min(3.0, seconds)
    t_end = time.perf_counter() + probe
    while time.perf_counter() < t_end:
        for s in spans[:512]:
            proc.on_end(s)
        time.sleep(0.001)
    proc.force_flush()
    capacity = (exp.stats.spans_written - w0) / probe
    target_rate = capacity * 10
    rss: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss.append(me.memory_info().rss / 2**20)
            time.sleep(0.5)

    sampler = threading.Thread(target=sample)
    sampler.start()
    w0 = exp.stats.spans_written
    offered = 0
    t0 = time.perf_counter()
    i = 0
    while (now := time.perf_counter()) - t0 < seconds:
        due = int((now - t0) * target_rate)
        while offered < due:
            proc.on_end(spans[i])
            i = (i + 1) % len(spans)
            offered += 1
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    proc.force_flush()
    written = exp.stats.spans_written - w0
    stop.set()
    sampler.join()
    proc.shutdown()
    mid, last = _thirds(rss)
    return {"what": "exporter (BatchSpanProcessor + DuckDBSpanExporter)",
            "capacity_spans_s": capacity, "offered_spans_s": offered / elapsed,
            "offered": offered, "written": written, "dropped": offered - written,
            "rss_mib_max": max(rss), "rss_mib_mid": mid, "rss_mib_last": last,
            "growth_mib": last - mid, "exporter_drops_counted": exp.stats.as_dict()}  # fmt: skip


def _poster(endpoint: str, seconds: float, q: Any) -> None:
    from bench_exporter import make_spans
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    body = encode_spans(make_spans(8192)).SerializePartialToString()
    counts = [0, 0]
    lock = threading.Lock()
    t_end = time.perf_counter() + seconds

    def post() -> None:  # 12 requests in flight per process: 36 x 8192 > the 200k queue
        while time.perf_counter() < t_end:
            req = urllib.request.Request(endpoint, data=body, method="POST",
                                         headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
            try:
                with urllib.request.urlopen(req, timeout=60):
                    i = 0
            except urllib.error.HTTPError as e:
                i = 1 if e.code in (429, 503) else 0
                time.sleep(0.05)
            except OSError:
                i = 1
                time.sleep(0.05)
            with lock:
                counts[i] += 1

    threads = [threading.Thread(target=post) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put((counts[0] * 8192, counts[1] * 8192))


def receiver_overload(seconds: float, tmp: str) -> dict[str, Any]:
    from bench_receiver import free_port, wait_http

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "crewscope.query_api.cli", "serve", "--db",
         os.path.join(tmp, "recv.duckdb"), "--port", str(port), "--grpc", "",
         "--rollup-interval", "0", "--retention-days", "0", "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v1/monitoring/system/health")
        sproc = psutil.Process(server.pid)
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        procs = [ctx.Process(target=_poster, args=(f"http://127.0.0.1:{port}/v1/traces",
                                                   seconds, q)) for _ in range(3)]  # fmt: skip
        for p in procs:
            p.start()
        rss: list[float] = []
        t_end = time.perf_counter() + seconds + 5
        while time.perf_counter() < t_end and any(p.is_alive() for p in procs):
            rss.append(_tree_rss_mib(sproc))  # the server and its decode workers
            time.sleep(0.5)
        results = [q.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/v1/monitoring/system/health", timeout=30
        ) as r:
            health = json.load(r)
    finally:
        server.terminate()
        server.wait(timeout=60)
    mid, last = _thirds(rss)
    accepted = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    queue = [s for s in health.get("service_statuses", []) if "queue" in s.get("name", "")]
    return {"what": "receiver (crewscope serve, OTLP/HTTP)", "accepted": accepted,
            "refused_503": refused, "offered_over_accepted": (accepted + refused) / max(1, accepted),
            "rss_mib_max": max(rss), "rss_mib_mid": mid, "rss_mib_last": last,
            "growth_mib": last - mid, "server_queue_status": queue}  # fmt: skip


def _tree_rss_mib(proc: psutil.Process) -> float:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # a worker that just exited
            pass
    return total / 2**20


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--only", choices=("exporter", "receiver", "queries"), default=None)
    q = p.add_argument_group("queries", "query latency unloaded vs overloaded (_overload_queries)")
    q.add_argument("--query-spans", type=int, default=200_000, help="generated spans in the file")
    q.add_argument("--dir", default="/tmp/crewscope_bench_data", help="cache of generated files")
    q.add_argument("--rounds", type=int, default=2, help="loaded phases (unloaded around each)")
    q.add_argument("--phase-seconds", type=float, default=None, help="default: --seconds / 3")
    q.add_argument("--clients", type=int, default=4, help="poster processes")
    q.add_argument("--threads", type=int, default=32, help="requests in flight per poster")
    q.add_argument("--ignore-retry-after", action="store_true",
                   help="posters retry after 50 ms instead of Retry-After")  # fmt: skip
    args = p.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="crewscope_bench_overload_")
    out: dict[str, Any] = {}
    try:
        if args.only in (None, "exporter"):
            out["exporter"] = exporter_overload(args.seconds, tmp)
            print(json.dumps(out["exporter"], default=str), flush=True)
        if args.only in (None, "receiver"):
            out["receiver"] = receiver_overload(args.seconds, tmp)
            print(json.dumps(out["receiver"], default=str), flush=True)
        if args.only in (None, "queries"):
            import _overload_queries

            out["queries"] = _overload_queries.run(
                tmp=tmp, data_dir=args.dir, spans=args.query_spans,
                phase_s=args.phase_seconds or args.seconds / 3, rounds=args.rounds,
                clients=args.clients, threads=args.threads,
                honour_retry_after=not args.ignore_retry_after,
            )  # fmt: skip
            print(json.dumps(out["queries"], default=str), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for r in out.values():
        if "rss_mib_max" in r:
            print(f"{r['what']}: RSS max {r['rss_mib_max']:.0f} MiB, middle third "
                  f"{r['rss_mib_mid']:.0f} MiB, last third {r['rss_mib_last']:.0f} MiB "
                  f"(growth {r['growth_mib']:+.0f} MiB)")  # fmt: skip
    if "queries" in out:
        _overload_queries.print_table(out["queries"])
    return out


if __name__ == "__main__":
    main()
