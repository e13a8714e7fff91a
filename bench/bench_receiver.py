"""OTLP receiver ingest: `crewscope serve` over HTTP/protobuf, directly and through the Collector.

    .venv/bin/python bench/bench_receiver.py [--spans 200000] [--batches 512,8192] [--clients 2]

Starts `crewscope serve` (its own process, fresh DuckDB file, no rollup/retention jobs) and
sends SDK spans shaped like crew runs with the official OTLP/HTTP exporter
(`opentelemetry-exporter-otlp-proto-http`) from `--clients` client processes:

* official exporter: ``OTLPSpanExporter.export(batch)``: protobuf encoding in the client,
  then POST; a 200 means the batch is committed in DuckDB, so acknowledged spans/s is the
  end-to-end ingest rate;
* pre-encoded: the same exporter's HTTP client posts a batch encoded once, so the client's
  encoding CPU (which competes for the same 2 cores) is out of the way: the server's capacity;
* Collector: the exporter sends to the real Collector (otel-collector.yaml, exporters
  `[otlp_http/crewscope]`), which forwards to crewscope; the rate is measured until the last
  run is visible through the query API.

The direct measurements run once per `--decode-workers` setting (default ``0,auto``: decoding
in the server process, then the server's default worker processes), each with a fresh
server; the Collector path uses the last one. Also reports the CPU time per span of the
server and its decode workers (psutil). Target: >= 50k spans/s.
"""

from __future__ import annotations

import argparse
import glob
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
TARGET = 50_000
API = "/api/v1/monitoring"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not up after {timeout}s")


def runs_total(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{API}/runs?limit=1", timeout=30) as r:
        return int(json.load(r)["total"])


def _client(endpoint: str, batch_size: int, requests: int, pre_encoded: bool, q: Any) -> None:
    from bench_exporter import make_spans
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    batch = make_spans(batch_size)
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=60)
    body = encode_spans(batch).SerializePartialToString()
    ok = failed = 0
    q.put("ready")
    t0 = time.perf_counter()
    for _ in range(requests):
        if pre_encoded:
            good = exporter._client.export(body).success
        else:
            good = exporter.export(batch).name == "SUCCESS"
        if good:
            ok += len(batch)
        else:
            failed += len(batch)
    q.put((ok, failed, t0, time.perf_counter()))
    exporter.shutdown()


def load(endpoint: str, batch_size: int, total: int, clients: int, pre_encoded: bool) -> dict:
    """Run `clients` processes sending `total` spans; returns ok/failed spans and wall time."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    per = max(1, total // clients // batch_size)
    procs = [ctx.Process(target=_client, args=(endpoint, batch_size, per, pre_encoded, q))
             for _ in range(clients)]  # fmt: skip
    for p in procs:
        p.start()
    for _ in procs:
        assert q.get(timeout=120) == "ready"
    results = [q.get(timeout=900) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    t0 = min(r[2] for r in results)
    t1 = max(r[3] for r in results)
    return {"ok": sum(r[0] for r in results), "failed": sum(r[1] for r in results),
            "t0": t0, "t1": t1, "requests": per * clients}  # fmt: skip


def roots_per_batch(batch_size: int) -> int:
    from bench_exporter import make_spans

    return sum(1 for s in make_spans(batch_size) if s.name.startswith("invoke_workflow"))


def start_server(tmp: str, port: int, decode_workers: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.pop("CREWSCOPE_INGEST_DECODE_WORKERS", None)
    if decode_workers != "auto":
        env["CREWSCOPE_INGEST_DECODE_WORKERS"] = decode_workers
    return subprocess.Popen(
        [sys.executable, "-m", "crewscope.query_api.cli", "serve", "--db",
         os.path.join(tmp, f"recv_{port}.duckdb"), "--port", str(port), "--grpc", "",
         "--rollup-interval", "0", "--retention-days", "0", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, f"server_{port}.log"), "w"),
        env=env,
    )  # fmt: skip


def tree_cpu(proc: psutil.Process) -> float:
    """User+sys seconds of the server and its decode workers."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += sum(p.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def decode_workers(port: int) -> int:
    url = f"http://127.0.0.1:{port}/api/v1/monitoring/system/health"
    with urllib.request.urlopen(url, timeout=30) as r:
        health = json.load(r)
    for status in health.get("service_statuses", []):
        if status.get("name") == "ingest_decoders":
            return int(status["metrics"]["workers"])
    return 0


def collector_binary() -> str | None:
    env = os.environ.get("CREWSCOPE_OTELCOL_BIN")
    if env:
        return env
    found = sorted(glob.glob(os.path.expanduser("~/.cache/crewscope/otelcol/*/otelcol-crewscope")))
    return found[-1] if found else None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spans", type=int, default=200_000, help="spans per measurement")
    p.add_argument("--batches", default="512,8192")
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--no-collector", action="store_true")
    p.add_argument(
        "--decode-workers",
        default="0,auto",
        help="CREWSCOPE_INGEST_DECODE_WORKERS settings to compare (auto: the server's default)",
    )
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.batches.split(",")]
    settings = [w.strip() for w in args.decode_workers.split(",") if w.strip()]
    tmp = tempfile.mkdtemp(prefix="crewscope_bench_receiver_")
    collector = None
    server: subprocess.Popen[bytes] | None = None
    rows: list[dict[str, Any]] = []
    try:
        for setting in settings:  # one server per decode-worker setting, the last one stays
            if server is not None:
                server.terminate()
                server.wait(timeout=60)
            port = free_port()
            server = start_server(tmp, port, setting)
            wait_http(f"http://127.0.0.1:{port}/api/v1/monitoring/system/health")
            sproc = psutil.Process(server.pid)
            workers = decode_workers(port)
            endpoint = f"http://127.0.0.1:{port}/v1/traces"
            load(endpoint, 512, 4096, 1, True)  # warm-up
            for size in sizes:
                for pre in (False, True):
                    c0 = tree_cpu(sproc)
                    r = load(endpoint, size, args.spans, args.clients, pre)
                    cpu = tree_cpu(sproc) - c0
                    rate = r["ok"] / (r["t1"] - r["t0"])
                    rows.append({"path": "direct", "workers": workers,
                                 "mode": "pre-encoded" if pre else "official exporter",
                                 "batch": size, "spans_s": rate, "failed": r["failed"],
                                 "server_cpu_us": cpu / max(1, r["ok"]) * 1e6})  # fmt: skip
                    print(json.dumps(rows[-1]), flush=True)
        binary = None if args.no_collector else collector_binary()
        if binary is None:
            print(
                "collector: no binary (scripts/build_collector.sh or CREWSCOPE_OTELCOL_BIN): skipped"
            )
        else:
            cport, hport, tport = free_port(), free_port(), free_port()
            env = {
                "PATH": os.environ.get("PATH", ""), "HOME": tmp,
                "OTELCOL_HTTP_ENDPOINT": f"127.0.0.1:{cport}",
                "OTELCOL_GRPC_ENDPOINT": f"127.0.0.1:{free_port()}",
                "OTELCOL_HEALTH_CHECK_ENDPOINT": f"127.0.0.1:{hport}",
                "OTELCOL_TELEMETRY_PORT": str(tport),
                "OTELCOL_QUEUE_DIR": os.path.join(tmp, "queue"),
                "OTELCOL_TRACES_EXPORTERS": "[otlp_http/crewscope]",
                "OTELCOL_METRICS_EXPORTERS": "[otlp_http/crewscope]",
                "CREWSCOPE_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                "OTELCOL_LOG_LEVEL": "warn",
            }  # fmt: skip
            collector = subprocess.Popen(
                [binary, "--config", os.path.join(os.path.dirname(HERE), "otel-collector.yaml")],
                env=env, stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(tmp, "collector.log"), "w"),
            )  # fmt: skip
            wait_http(f"http://127.0.0.1:{hport}/")
            cproc = psutil.Process(collector.pid)
            for size in sizes:
                before = runs_total(port)
                c0 = tree_cpu(sproc)
                k0 = sum(cproc.cpu_times()[:2])
                r = load(f"http://127.0.0.1:{cport}/v1/traces", size, args.spans, args.clients,
                         False)  # fmt: skip
                want = before + r["requests"] * roots_per_batch(size)
                deadline = time.monotonic() + 300
                while runs_total(port) < want and time.monotonic() < deadline:
                    time.sleep(0.2)
                landed = time.perf_counter()
                got = runs_total(port) - before
                rate = r["ok"] / (landed - r["t0"])
                rows.append({"path": "collector", "workers": workers,
                             "mode": "official exporter", "batch": size,
                             "spans_s": rate, "failed": r["failed"],
                             "runs_landed": f"{got}/{want - before}",
                             "server_cpu_us": (tree_cpu(sproc) - c0) / r["ok"] * 1e6,
                             "collector_cpu_us": (sum(cproc.cpu_times()[:2]) - k0) / r["ok"] * 1e6})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
    finally:
        if collector is not None:
            collector.terminate()
            collector.wait(timeout=30)
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{args.clients} client processes, {args.spans:,} spans per line; target >= {TARGET:,}")
    print(
        f"{'path':10s} {'workers':>7s} {'client':18s} {'batch':>6s} {'spans/s':>9s} "
        f"{'server µs/span':>15s}  target"
    )
    for r in rows:
        print(
            f"{r['path']:10s} {r['workers']:7d} {r['mode']:18s} {r['batch']:6d} "
            f"{r['spans_s']:9,.0f} "
            f"{r['server_cpu_us']:15.1f}  {'met' if r['spans_s'] >= TARGET else 'MISSED'}"
        )
    return {"rows": rows}


if __name__ == "__main__":
    main()
