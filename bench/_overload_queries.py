"""Query latency of `crewscope serve` unloaded vs under sustained OTLP overload, and recovery.

One server (its own process) on a copy of a generated file (`gen_spans`, cached in --dir like
`bench_query.py`). Phases alternate U L U L ... U: in U nothing is sent; in L `clients`
poster processes (`_overload_load.poster`) offer more than the receiver can write, so it sheds
(429/503). In every phase the bench asks each of `bench_query.endpoints` in turn over one
keep-alive connection, as many passes as fit in `phase_s` (at least one); p50/p95 per endpoint
per condition over all phases of that condition, ratio loaded/unloaded.

After each L the posters stop; recovery is timed from then: until no request is in flight,
until the ingest queue is empty (health endpoint), and until a new request is answered 200.
Shed responses are counted by status, with those lacking ``Retry-After``.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

import psutil
from _overload_load import Bodies, Counters, post, poster

API = "/api/v1/monitoring"
BODY_SPANS = 2048  # the repo Collector's send_batch_max_size
PROBE_INDEX = 63  # request numbers of the probe, apart from every poster's


def _get(conn: http.client.HTTPConnection, path: str) -> float:
    started = time.perf_counter()
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
    except (http.client.RemoteDisconnected, ConnectionError):  # closed while idle (keep-alive)
        conn.close()
        started = time.perf_counter()
        conn.request("GET", path)
        reply = conn.getresponse()
    body = reply.read()
    elapsed = time.perf_counter() - started
    if reply.status != 200:
        raise RuntimeError(f"GET {path}: {reply.status} {body[:300]!r}")
    return elapsed * 1000


def _pass_until(conn: http.client.HTTPConnection, paths: dict[str, str], seconds: float,
                out: dict[str, list[float]]) -> int:  # fmt: skip
    """Ask every endpoint in turn until `seconds` have passed (at least one pass)."""
    end, passes = time.monotonic() + seconds, 0
    while passes == 0 or time.monotonic() < end:
        for name, path in paths.items():
            out.setdefault(name, []).append(_get(conn, API + path))
        passes += 1
    return passes


def _p(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _queue(conn: http.client.HTTPConnection) -> dict[str, Any]:
    conn.request("GET", API + "/system/health")
    reply = conn.getresponse()
    doc = json.loads(reply.read())
    return next(s["metrics"] for s in doc["service_statuses"] if s["name"] == "ingest_queue")


def _cpu_s(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:  # a worker that just exited
            pass
    return total


def _cpu(server: psutil.Process, posters: list[psutil.Process]) -> dict[str, float]:
    """CPU seconds so far: the server process, its decode workers, the posters, the machine."""
    machine = psutil.cpu_times()
    return {"server": _cpu_s([server]), "decode_workers": _cpu_s(server.children(recursive=True)),
            "posters": _cpu_s(posters), "machine_busy": machine.user + machine.system
            + machine.nice + machine.softirq + machine.irq + machine.steal}  # fmt: skip


def _data_file(data_dir: str, spans: int) -> str:
    import gen_spans

    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, f"spans_{spans}.duckdb")
    if not os.path.exists(path):
        t = time.perf_counter()
        gen_spans.create(path, spans)
        print(f"generated {spans:,} spans in {time.perf_counter() - t:.1f} s", flush=True)
    return path


def _start_server(db: str, port: int, log: str) -> subprocess.Popen[bytes]:
    from bench_receiver import wait_http

    with open(log, "ab") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "crewscope.query_api.cli", "serve", "--db", db,
             "--port", str(port), "--grpc", "", "--rollup-interval", "0",
             "--retention-days", "0", "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}{API}/system/health", timeout=120)
    return server


def _recover(port: int, counters: Counters, probe: Bodies, number: int,
             timeout: float = 120.0) -> dict[str, float]:  # fmt: skip
    """After the posters were told to stop: seconds until idle, drained, accepting."""
    started = time.monotonic()
    out: dict[str, float] = {}
    while counters.get("inflight") > 0 and time.monotonic() - started < timeout:
        time.sleep(0.02)
    out["idle_s"] = time.monotonic() - started
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while (depth := _queue(conn)["depth"]) > 0 and time.monotonic() - started < timeout:
        time.sleep(0.05)
    out["drained_s"] = time.monotonic() - started
    body = probe.make(number)
    while (status := post(conn, body)[0]) != 200 and time.monotonic() - started < timeout:
        time.sleep(0.05)
    out["accepting_s"] = time.monotonic() - started
    out["left_in_queue"] = depth
    out["probe_status"] = status
    conn.close()
    return out


def run(*, tmp: str, data_dir: str, spans: int, phase_s: float, rounds: int, clients: int,
        threads: int, honour_retry_after: bool = True) -> dict[str, Any]:  # fmt: skip
    from bench_query import endpoints, sample_ids
    from bench_receiver import free_port

    source = _data_file(data_dir, spans)
    paths = endpoints(sample_ids(source))
    db = os.path.join(tmp, "queries.duckdb")
    shutil.copyfile(source, db)
    port = free_port()
    server = _start_server(db, port, os.path.join(tmp, "serve.log"))
    ctx = mp.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    counters = Counters.create(ctx)
    procs = [ctx.Process(target=poster, args=(port, i, threads, BODY_SPANS, go, stop, counters,
                                              honour_retry_after), daemon=True)
             for i in range(clients)]  # fmt: skip
    samples: dict[str, dict[str, list[float]]] = {"unloaded": {}, "loaded": {}}
    phases: list[dict[str, Any]] = []
    recoveries: list[dict[str, float]] = []
    try:
        for p in procs:
            p.start()
        probe = Bodies(BODY_SPANS)
        sproc = psutil.Process(server.pid)
        pprocs = [psutil.Process(p.pid) for p in procs if p.pid is not None]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("POST", API + "/rollups/refresh")
        conn.getresponse().read()
        _pass_until(conn, paths, 0, {})  # warm: first call of each endpoint
        for r in range(rounds * 2 + 1):
            loaded = r % 2 == 1
            if loaded:
                go.set()
                before = counters.get("refused")
                deadline = time.monotonic() + 120
                while counters.get("refused") == before and time.monotonic() < deadline:
                    time.sleep(0.05)  # shedding: the queue is full
            c0, cpu0, t0 = counters.snapshot(), _cpu(sproc, pprocs), time.monotonic()
            passes = _pass_until(conn, paths, phase_s, samples["loaded" if loaded else "unloaded"])
            c1, cpu1, t1 = counters.snapshot(), _cpu(sproc, pprocs), time.monotonic()
            dt = t1 - t0
            phases.append({
                "phase": "loaded" if loaded else "unloaded", "seconds": dt, "passes": passes,
                **{f"cpu_{k}": (cpu1[k] - cpu0[k]) / dt for k in cpu0},
                "load_avg_1m": os.getloadavg()[0],
                "accepted_spans_s": (c1["accepted_spans"] - c0["accepted_spans"]) / dt,
                "refused_s": (c1["refused"] - c0["refused"]) / dt,
                "offered_spans_s": (c1["accepted_spans"] - c0["accepted_spans"]
                                    + (c1["refused"] - c0["refused"]) * BODY_SPANS) / dt,
            })  # fmt: skip
            print(json.dumps(phases[-1]), flush=True)
            if loaded:
                go.clear()
                recoveries.append(_recover(port, counters, probe, (PROBE_INDEX << 18) + r))
                print(json.dumps({"recovery": recoveries[-1]}), flush=True)
        conn.close()
    finally:
        stop.set()
        go.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
        server.terminate()
        server.wait(timeout=60)
    table = {}
    for name in paths:
        u, lo = samples["unloaded"][name], samples["loaded"][name]
        row = {"unloaded_p50": _p(u, 50), "unloaded_p95": _p(u, 95),
               "loaded_p50": _p(lo, 50), "loaded_p95": _p(lo, 95), "n": (len(u), len(lo))}  # fmt: skip
        row["ratio_p50"] = row["loaded_p50"] / row["unloaded_p50"]
        row["ratio_p95"] = row["loaded_p95"] / row["unloaded_p95"]
        table[name] = row
    totals = counters.snapshot()
    return {
        "what": "query latency, unloaded vs under OTLP overload (crewscope serve)",
        "spans": spans, "clients": clients, "threads": threads, "body_spans": BODY_SPANS,
        "honour_retry_after": honour_retry_after, "endpoints": table, "phases": phases,
        "recoveries": recoveries, "counters": totals,
        "max_ratio_p50": max(r["ratio_p50"] for r in table.values()),
        "max_ratio_p95": max(r["ratio_p95"] for r in table.values()),
        "median_ratio_p50": statistics.median(r["ratio_p50"] for r in table.values()),
        "pass_ratio": sum(r["loaded_p50"] for r in table.values())
        / sum(r["unloaded_p50"] for r in table.values()),
    }  # fmt: skip


def print_table(out: dict[str, Any]) -> None:
    print(f"\n{out['what']}: {out['spans']:,} spans, {out['clients']} x {out['threads']} "
          f"posters of {out['body_spans']}-span gzip bodies")  # fmt: skip
    print(f"{'endpoint':32} {'unloaded p50/p95 ms':>20} {'loaded p50/p95 ms':>20} "
          f"{'ratio p50':>9} {'p95':>6}")  # fmt: skip
    for name, r in out["endpoints"].items():
        print(f"{name:32} {r['unloaded_p50']:9.1f} /{r['unloaded_p95']:7.1f}  "
              f"{r['loaded_p50']:9.1f} /{r['loaded_p95']:7.1f}  "
              f"{r['ratio_p50']:8.2f}x {r['ratio_p95']:5.2f}x")  # fmt: skip
    loaded = [p for p in out["phases"] if p["phase"] == "loaded"]
    c = out["counters"]
    print(f"ratio p50: median {out['median_ratio_p50']:.2f}x, max {out['max_ratio_p50']:.2f}x; "
          f"p95 max {out['max_ratio_p95']:.2f}x; one pass over all endpoints "
          f"{out['pass_ratio']:.2f}x (target <= 2x)")  # fmt: skip
    print(
        "loaded phases: accepted "
        + ", ".join(f"{p['accepted_spans_s']:,.0f}" for p in loaded)
        + " spans/s; refused "
        + ", ".join(f"{p['refused_s']:.0f}" for p in loaded)
        + " requests/s"
    )
    for p in out["phases"]:
        print(f"  {p['phase']:9} {p['seconds']:5.1f} s, {p['passes']:3} passes; cores busy: server "
              f"{p['cpu_server']:.2f}, decode workers {p['cpu_decode_workers']:.2f}, posters "
              f"{p['cpu_posters']:.2f}, whole machine {p['cpu_machine_busy']:.2f} of "
              f"{psutil.cpu_count()}; load average {p['load_avg_1m']:.1f}")  # fmt: skip
    print(f"shed responses: {c['refused']} (429/503), {c['no_retry_after']} without Retry-After; "
          f"other failures {c['other']}, reconnects {c['reconnects']}")  # fmt: skip
    for rec in out["recoveries"]:
        print(f"recovery after load stopped: idle {rec['idle_s']:.1f} s, queue empty "
              f"{rec['drained_s']:.1f} s, accepting {rec['accepting_s']:.1f} s")  # fmt: skip
