"""Ingest under read load: OTLP/HTTP into `crewscope serve` alone vs with concurrent API readers.

    .venv/bin/python bench/bench_concurrency.py [--seconds 8] [--rounds 3] [--readers 0,4,16]
        [--client pre-encoded|official] [--batch 512]

One `crewscope serve` (its own process, fresh DuckDB file, no rollup/retention jobs). A writer
process sends crew runs (13 spans each, fresh trace and span ids in every request) over
OTLP/HTTP, `--batch` spans a request, as fast as the server acknowledges: by default
pre-encoded (the official exporter's HTTP client posts one encoded body, its ids rewritten
per request: the server's capacity), or with ``--client official`` through
`OTLPSpanExporter.export` (protobuf encoding in the client, whose CPU competes for the same
two cores: what one app process sends). A reader process runs N
threads, each looping over the query API (runs list, run detail, dashboard, agents, LLM
usage, tasks list) over one keep-alive connection. Phases of `--seconds` each, interleaved
in rotating order over `--rounds` rounds (medians reported):

* ingest with N readers, for each N in `--readers`: spans/s acknowledged (a 200 means the
  batch is committed) and spans/s stored (the runs the API counts afterwards, x 13), and
  the readers' p50/p95 latency during ingest;
* the same N readers without ingest: their p50/p95 latency alone.

Prints ingest with N readers / ingest alone and reader latency during ingest / alone.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_receiver import free_port, start_server, wait_http  # noqa: E402

API = "/api/v1/monitoring"
SPANS_PER_RUN = 13  # bench_exporter.make_spans: crew + 4 x (step, chat, tool)
READS = ("/runs?limit=20", "/runs/{id}", "/dashboard", "/agents", "/llm", "/tasks?limit=20")


def _fresh_runs(template: list[Any], runs: int) -> list[Any]:
    """`runs` copies of the template run's spans, each under new trace and span ids, ending
    now (so every time window of the API holds them)."""
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import SpanContext

    rng = random.Random()
    shift = time.time_ns() - max(s.end_time for s in template)
    out = []
    for _ in range(runs):
        trace_id = rng.getrandbits(128)
        ids = {s.context.span_id: rng.getrandbits(64) for s in template}
        for s in template:
            ctx = SpanContext(trace_id, ids[s.context.span_id], False, s.context.trace_flags)
            parent = None
            if s.parent is not None:
                parent = SpanContext(trace_id, ids[s.parent.span_id], False, s.parent.trace_flags)
            out.append(ReadableSpan(
                name=s.name, context=ctx, parent=parent, resource=s.resource,
                attributes=s.attributes, events=s.events, links=s.links, kind=s.kind,
                status=s.status, start_time=s.start_time + shift, end_time=s.end_time + shift,
                instrumentation_scope=s.instrumentation_scope,
            ))  # fmt: skip
    return out


class FreshBodies:
    """One encoded OTLP request whose trace and span ids are rewritten for every send (the
    bytes of each id found in the encoding once), so a pre-encoded body stores new runs."""

    def __init__(self, spans: list[Any]) -> None:
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        self.body = encode_spans(spans).SerializePartialToString()
        ids: dict[bytes, None] = {}
        for sp in spans:
            ids.setdefault(sp.context.trace_id.to_bytes(16, "big"), None)
            ids.setdefault(sp.context.span_id.to_bytes(8, "big"), None)
        self.lengths = [len(old) for old in ids]
        self.slots: list[tuple[int, int, int]] = []  # (offset, length, which id)
        for k, old in enumerate(ids):
            i = self.body.find(old)
            while i != -1:
                self.slots.append((i, len(old), k))
                i = self.body.find(old, i + 1)
        parents = sum(1 for sp in spans if sp.parent is not None)
        assert len(self.slots) == 2 * len(spans) + parents, "an id matched other bytes"

    def fresh(self) -> bytes:
        out = bytearray(self.body)
        new = [os.urandom(n) for n in self.lengths]
        for offset, n, k in self.slots:
            out[offset : offset + n] = new[k]
        return bytes(out)


def _writer(endpoint: str, batch: int, pre_encoded: bool, orders: Any, results: Any) -> None:
    """Waits for an order (seconds to send, None: stop); answers with what was acked."""
    from bench_exporter import make_spans
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    template = make_spans(SPANS_PER_RUN)
    assert [s.parent for s in template].count(None) == 1
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=60)
    runs = max(1, batch // SPANS_PER_RUN)
    bodies = FreshBodies(_fresh_runs(template, runs))
    results.put("ready")
    while (seconds := orders.get()) is not None:
        ok = failed = requests = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            requests += 1
            if pre_encoded:
                good = exporter._client.export(bodies.fresh()).success
            else:
                good = exporter.export(_fresh_runs(template, runs)) is SpanExportResult.SUCCESS
            if good:
                ok += runs * SPANS_PER_RUN
            else:
                failed += runs * SPANS_PER_RUN
        results.put({"ok": ok, "failed": failed, "requests": requests,
                     "seconds": time.perf_counter() - t0})  # fmt: skip
    exporter.shutdown()


def _read_loop(url: str, until: float, lat: dict[str, list[float]], errors: list[str]) -> None:
    import httpx

    run_id = None
    with httpx.Client(base_url=url + API, timeout=60) as client:
        i = random.randrange(len(READS))  # threads start apart: slow phases sample every read
        while time.perf_counter() < until:
            path = READS[i % len(READS)]
            i += 1
            if "{id}" in path:
                if run_id is None:
                    continue
                path = f"/runs/{run_id}"
            t0 = time.perf_counter()
            try:
                r = client.get(path)
                ok = r.status_code == 200
                body = r.json() if ok else None
            except (httpx.HTTPError, ValueError) as exc:
                errors.append(f"{path}: {exc}")
                continue
            dt = time.perf_counter() - t0
            if not ok:
                errors.append(f"{path}: {r.status_code}")
                continue
            lat.setdefault(READS[(i - 1) % len(READS)], []).append(dt)
            if path.startswith("/runs?") and body["runs"]:
                run_id = random.choice(body["runs"])["run_id"]


def _readers(url: str, orders: Any, results: Any) -> None:
    """Waits for an order ((threads, seconds), None: stop); answers with the latencies."""
    import httpx  # noqa: F401 - imported before the clock starts

    results.put("ready")
    while (order := orders.get()) is not None:
        threads, seconds = order
        until = time.perf_counter() + seconds
        lats: list[dict[str, list[float]]] = [{} for _ in range(threads)]
        errors: list[str] = []
        workers = [threading.Thread(target=_read_loop, args=(url, until, lats[i], errors))
                   for i in range(threads)]  # fmt: skip
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        merged: dict[str, list[float]] = {}
        for lat in lats:
            for k, v in lat.items():
                merged.setdefault(k, []).extend(v)
        results.put({"latency": merged, "errors": errors})


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def runs_total(url: str, settle_s: float = 15.0) -> int:
    """The runs the API lists once its projections have caught up (a list read while spans
    are still being copied may lag by that copy: read until two reads agree)."""
    deadline = time.monotonic() + settle_s
    last = -1
    while True:
        with urllib.request.urlopen(f"{url}{API}/runs?limit=1", timeout=120) as r:
            total = int(json.load(r)["total"])
        if total == last or time.monotonic() > deadline:
            return total
        last = total
        time.sleep(0.3)


class Bench:
    def __init__(self, url: str, batch: int, pre_encoded: bool) -> None:
        ctx = mp.get_context("spawn")
        self.url = url
        self.w_orders, self.w_results = ctx.Queue(), ctx.Queue()
        self.r_orders, self.r_results = ctx.Queue(), ctx.Queue()
        self.procs = [
            ctx.Process(target=_writer, args=(f"{url}/v1/traces", batch, pre_encoded,
                                              self.w_orders, self.w_results)),
            ctx.Process(target=_readers, args=(url, self.r_orders, self.r_results)),
        ]  # fmt: skip
        for p in self.procs:
            p.start()
        assert self.w_results.get(timeout=120) == "ready"
        assert self.r_results.get(timeout=120) == "ready"

    def phase(self, ingest: bool, readers: int, seconds: float) -> dict[str, Any]:
        before = runs_total(self.url) if ingest else 0
        if ingest:
            self.w_orders.put(seconds)
        if readers:
            self.r_orders.put((readers, seconds))
        out: dict[str, Any] = {"ingest": ingest, "readers": readers}
        if ingest:
            w = self.w_results.get(timeout=seconds + 300)
            r_done = self.r_results.get(timeout=seconds + 300) if readers else None
            # after the readers: a list read during another's sync may lag by that sync
            stored = (runs_total(self.url) - before) * SPANS_PER_RUN
            out.update(acked_s=w["ok"] / w["seconds"], stored_s=stored / w["seconds"],
                       failed=w["failed"], stored_all=stored == w["ok"])  # fmt: skip
        if readers:
            r = r_done if ingest else self.r_results.get(timeout=seconds + 300)
            every = [x for v in r["latency"].values() for x in v]
            out.update(calls=len(every), errors=len(r["errors"]), p50_ms=pct(every, 0.5),
                       p95_ms=pct(every, 0.95),
                       by_read={k: pct(v, 0.5) for k, v in r["latency"].items()})  # fmt: skip
        return out

    def close(self) -> None:
        self.w_orders.put(None)
        self.r_orders.put(None)
        for p in self.procs:
            p.join(timeout=60)


def med(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--readers", default="0,4,16", help="reader thread counts (0: ingest alone)")
    p.add_argument("--batch", type=int, default=512, help="spans per OTLP request")
    p.add_argument(
        "--client",
        choices=("pre-encoded", "official"),
        default="pre-encoded",
        help="pre-encoded: the exporter's HTTP client posts a body encoded once (ids rewritten "
        "per request), the server's capacity; official: OTLPSpanExporter.export encodes "
        "every batch in the client, whose CPU competes for the same cores",
    )
    p.add_argument("--warmup-s", type=float, default=3.0, help="ingest before the first phase")
    args = p.parse_args(argv)
    counts = [int(n) for n in args.readers.split(",")]
    phases = [(True, n) for n in counts] + [(False, n) for n in counts if n]
    tmp = tempfile.mkdtemp(prefix="crewscope_bench_concurrency_")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(tmp, port, "auto")
    rows: list[dict[str, Any]] = []
    bench = None
    try:
        wait_http(f"{url}{API}/system/health")
        bench = Bench(url, args.batch, args.client == "pre-encoded")
        bench.phase(True, 0, args.warmup_s)  # data for the readers, warm caches
        for rnd in range(args.rounds):
            k = rnd % len(phases)
            for ingest, n in phases[k:] + phases[:k]:
                rows.append({"round": rnd, **bench.phase(ingest, n, args.seconds)})
                print(json.dumps(rows[-1]), flush=True)
        total = runs_total(url) * SPANS_PER_RUN
    finally:
        if bench is not None:
            bench.close()
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)

    def of(ingest: bool, n: int) -> list[dict[str, Any]]:
        return [r for r in rows if r["ingest"] is ingest and r["readers"] == n]

    alone = med(of(True, 0), "acked_s") if 0 in counts else None
    summary: dict[str, Any] = {"ingest": [], "latency": [], "spans_stored": total,
                               "client": args.client}  # fmt: skip
    print(f"\n{args.client} client, {args.rounds} rounds x {args.seconds:g} s phases, "
          f"batch {args.batch} spans, "
          f"{total:,} load spans stored in all; medians over rounds")  # fmt: skip
    print(f"{'readers':>7s} {'acked spans/s':>13s} {'stored spans/s':>14s} {'vs alone':>8s} "
          f"{'failed':>6s} {'all stored':>10s}")  # fmt: skip
    for n in counts:
        rs = of(True, n)
        acked, stored = med(rs, "acked_s"), med(rs, "stored_s")
        row = {"readers": n, "acked_s": acked, "stored_s": stored, "vs_alone": ratio(acked, alone),
               "failed": sum(r["failed"] for r in rs), "all_stored": all(r["stored_all"] for r in rs)}  # fmt: skip
        summary["ingest"].append(row)
        vs = f"{row['vs_alone']:.2f}" if row["vs_alone"] is not None else "-"
        print(f"{n:7d} {acked or 0:13,.0f} {stored or 0:14,.0f} {vs:>8s} {row['failed']:6d} "
              f"{str(row['all_stored']):>10s}")  # fmt: skip
    print(f"\n{'readers':>7s} {'p50 alone':>9s} {'p50 ingest':>10s} {'ratio':>6s} "
          f"{'p95 alone':>9s} {'p95 ingest':>10s} {'ratio':>6s} {'errors':>6s}")  # fmt: skip
    for n in (n for n in counts if n):
        a, d = of(False, n), of(True, n)
        row = {"readers": n, "p50_alone": med(a, "p50_ms"), "p50_ingest": med(d, "p50_ms"),
               "p95_alone": med(a, "p95_ms"), "p95_ingest": med(d, "p95_ms"),
               "errors": sum(r["errors"] for r in a + d),
               "calls_alone": sum(r["calls"] for r in a), "calls_ingest": sum(r["calls"] for r in d)}  # fmt: skip
        row["p50_ratio"] = ratio(row["p50_ingest"], row["p50_alone"])
        row["p95_ratio"] = ratio(row["p95_ingest"], row["p95_alone"])
        summary["latency"].append(row)

        def f(x: float | None, w: int, spec: str = ".1f") -> str:
            return f"{x:{w}{spec}}" if x is not None else f"{'-':>{w}s}"

        print(f"{n:7d} {f(row['p50_alone'], 9)} {f(row['p50_ingest'], 10)} "
              f"{f(row['p50_ratio'], 6, '.2f')} {f(row['p95_alone'], 9)} "
              f"{f(row['p95_ingest'], 10)} {f(row['p95_ratio'], 6, '.2f')} {row['errors']:6d}")  # fmt: skip
    print("\nreader p50 ms by read (median over phases), alone | during ingest:")
    for n in (n for n in counts if n):
        for read in READS:
            a = [r["by_read"].get(read) for r in of(False, n) if r["by_read"].get(read)]
            d = [r["by_read"].get(read) for r in of(True, n) if r["by_read"].get(read)]
            if a or d:
                print(f"  {n:2d} readers {read:16s} "
                      f"{statistics.median(a) if a else float('nan'):8.1f} | "
                      f"{statistics.median(d) if d else float('nan'):8.1f}")  # fmt: skip
    summary["rows"] = rows
    return summary


if __name__ == "__main__":
    main()
