"""DuckDB vs ClickHouse: every query endpoint of the real app over the same generated spans.

    .venv/bin/python bench/bench_engines.py --spans 10000000 [--repeat 9]

Generates `--spans` spans (bench/gen_spans.py, as bench_query.py: 25 spans/run, 50 agents,
30 days) into a DuckDB file, writes the same spans into embedded ClickHouse (chDB) through
the receiver's ClickHouse writer (the Collector exporter's ``otel_traces`` columns, in
batches, so the materialized views derive runs, tasks, calls and sums as on a server), and
opens the real app on each (`create_app`, in-process `TestClient`). DuckDB's rollups are
refreshed once (ClickHouse derives its own as spans arrive). Endpoints are called
round-robin, one engine after the other, medians over `--repeat` rounds.
The data files are cached under --dir by size. `--logs` adds log records for the spans
(bench/gen_logs.py) to both cached stores, once, and measures the agent activity endpoint,
which reads them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_query
import duckdb
import gen_logs

API = bench_query.API
TARGET_MS = 100.0
BATCH = 100_000


def build_clickhouse(duck_path: str, chdb_dir: str) -> float:
    """Every span of `duck_path` into a new chDB directory, `BATCH` rows per insert."""
    from crewscope.query_api.store.clickhouse.database import ClickHouseDatabase
    from crewscope.query_api.store.clickhouse.location import parse_store

    t = time.perf_counter()
    shutil.rmtree(chdb_dir, ignore_errors=True)
    db = ClickHouseDatabase(parse_store(f"chdb://{chdb_dir}"))
    con = duckdb.connect(duck_path, read_only=True)
    try:
        reader = con.sql("SELECT * FROM otel_traces").to_arrow_reader(BATCH)
        import pyarrow as pa

        for batch in reader:
            db.store.append(pa.Table.from_batches([batch]))
    finally:
        con.close()
    with db.reader() as s:
        db.projections.sync(s, force=True)
    return time.perf_counter() - t


def add_logs(duck_path: str, chdb_dir: str) -> None:
    """Log records for the spans, once per cached store: generated into the DuckDB file,
    then copied into ClickHouse as the receiver writes them (the exporter's ``otel_logs``)."""
    import pyarrow as pa

    from crewscope.query_api.store.clickhouse.database import ClickHouseDatabase
    from crewscope.query_api.store.clickhouse.location import parse_store

    con = duckdb.connect(duck_path)
    try:
        row = con.execute("SELECT count(*) FROM otel_logs").fetchone()
    finally:
        con.close()
    if not row or not row[0]:
        t = time.perf_counter()
        n = gen_logs.add_logs(duck_path)
        print(f"generated {n:,} log records in DuckDB: {time.perf_counter() - t:.1f} s")
    marker = os.path.join(chdb_dir, "logs_ready")
    if os.path.exists(marker):
        return
    t = time.perf_counter()
    db = ClickHouseDatabase(parse_store(f"chdb://{chdb_dir}"))
    con = duckdb.connect(duck_path, read_only=True)
    try:
        reader = con.sql("SELECT * FROM otel_logs").to_arrow_reader(BATCH)
        for batch in reader:
            db.store.append_tables({"otel_logs": pa.Table.from_batches([batch])})
    finally:
        con.close()
    open(marker, "w").close()
    print(f"wrote the log records into ClickHouse: {time.perf_counter() - t:.1f} s", flush=True)


STAMPS = {"generated_at", "window_start", "window_end", "refreshed_at", "rollup_refreshed_at"}


def first_difference(a: Any, b: Any, where: str = "") -> str | None:
    """Where two JSON answers differ (floats to 1e-9 relative), or None; fields that say
    when an engine answered are skipped."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return f"{where}: {a!r} != {b!r}"
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{where}: keys {sorted(a)} != {sorted(b)}"
        diffs = (first_difference(a[k], b[k], f"{where}.{k}") for k in a if k not in STAMPS)
        return next((d for d in diffs if d), None)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} items != {len(b)}"
        diffs = (
            first_difference(x, y, f"{where}[{i}]")
            for i, (x, y) in enumerate(zip(a, b, strict=True))
        )
        return next((d for d in diffs if d), None)
    return None if a == b else f"{where}: {a!r} != {b!r}"


def activity_endpoints(ids: dict[str, str]) -> dict[str, str]:
    """What `--logs` measures besides the spans' endpoints."""
    return {
        "agents/{agent}/activity": f"/agents/{ids['agent']}/activity",
        "agents/{agent}/activity 500": f"/agents/{ids['agent']}/activity?limit=500",
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spans", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=9)
    p.add_argument("--dir", default="/tmp/crewscope_bench_data")
    p.add_argument("--fresh", action="store_true", help="regenerate the cached data")
    p.add_argument("--only", default="", help="comma-separated endpoint names")
    p.add_argument(
        "--logs",
        action="store_true",
        help="add log records for the spans (once per cached store) and measure the agent "
        "activity endpoint too",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="also compare both engines' answers (JSON; generated spans hold a few fields in "
        "DuckDB's typed columns only: error type, a step's task)",
    )
    args = p.parse_args(argv)

    os.makedirs(args.dir, exist_ok=True)
    duck = os.path.join(args.dir, f"spans_{args.spans}.duckdb")
    chdb_dir = os.path.join(args.dir, f"chdb_{args.spans}")
    work = os.path.join(args.dir, f"work_{args.spans}_{os.getpid()}.duckdb")
    if args.fresh or not os.path.exists(duck):
        for f in (duck, duck + ".wal"):
            if os.path.exists(f):
                os.remove(f)
        dt = bench_query.build_duckdb(duck, args.spans)
        print(f"generated {args.spans:,} spans in DuckDB: {dt:.1f} s", flush=True)
    if args.fresh or not os.path.exists(os.path.join(chdb_dir, "ready")):
        dt = build_clickhouse(duck, chdb_dir)
        open(os.path.join(chdb_dir, "ready"), "w").close()
        print(f"wrote {args.spans:,} spans into ClickHouse: {dt:.1f} s "
              f"({args.spans / dt:,.0f} spans/s)", flush=True)  # fmt: skip
    if args.logs:
        add_logs(duck, chdb_dir)
    shutil.copyfile(duck, work)
    ids = bench_query.sample_ids(duck)

    from fastapi.testclient import TestClient

    from crewscope.query_api.app import create_app

    results: dict[str, Any] = {"spans": args.spans, "endpoints": {}}
    eps = bench_query.endpoints(ids)
    if args.logs:
        eps |= activity_endpoints(ids)
    names = [n for n in eps if not args.only or n in args.only.split(",")]
    times: dict[str, dict[str, list[float]]] = {"duckdb": {}, "clickhouse": {}}
    failed: dict[str, str] = {}
    try:
        duck_app = create_app(work, rollup_interval_s=0, retention_days=None)
        click_app = create_app(f"chdb://{chdb_dir}", rollup_interval_s=0, retention_days=None)
        with TestClient(duck_app) as duck_client, TestClient(click_app) as click_client:
            r = duck_client.post(API + "/rollups/refresh")
            assert r.status_code == 200, r.text
            clients = {"duckdb": duck_client, "clickhouse": click_client}

            def call(engine: str, name: str) -> float | None:
                t0 = time.perf_counter()
                resp = clients[engine].get(API + eps[name])
                dt = time.perf_counter() - t0
                if resp.status_code != 200:
                    failed[f"{engine} {name}"] = f"{resp.status_code} {resp.text[:200]}"
                    return None
                return dt

            for name in names:  # warm-up: the first call plans and loads
                for engine in clients:
                    call(engine, name)
            if args.check:
                for name in names:
                    got = [clients[e].get(API + eps[name]).json() for e in clients]
                    if (diff := first_difference(*got)) is not None:
                        failed[f"answers {name}"] = diff
            for _ in range(args.repeat):
                for name in names:
                    for engine in clients:
                        dt = call(engine, name)
                        if dt is not None:
                            times[engine].setdefault(name, []).append(dt)
    finally:
        for f in (work, work + ".wal"):
            if os.path.exists(f):
                os.remove(f)

    print(f"\n{args.spans:,} spans, median of {args.repeat} interleaved rounds "
          f"(target: ClickHouse <= {TARGET_MS:.0f} ms)")  # fmt: skip
    print(f"{'endpoint':32s} {'DuckDB ms':>10s} {'ClickHouse ms':>14s} {'CH/DuckDB':>10s}  target")
    for name in names:
        d = times["duckdb"].get(name)
        c = times["clickhouse"].get(name)
        dms = statistics.median(d) * 1e3 if d else float("nan")
        cms = statistics.median(c) * 1e3 if c else float("nan")
        ok = "met" if c and cms <= TARGET_MS else "MISSED"
        print(f"{name:32s} {dms:10.1f} {cms:14.1f} {cms / dms:10.2f}  {ok}")
        results["endpoints"][name] = {"duckdb_ms": dms, "clickhouse_ms": cms}
    for what, why in failed.items():
        print(f"failed: {what}: {why}")
    results["failed"] = failed
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
