"""Query latency at scale: every query endpoint of the real app vs SQLite holding the same rows.

    .venv/bin/python bench/bench_query.py --spans 1000000 [--repeat 15] [--no-sqlite]

Generates `--spans` spans (bench/gen_spans.py: 25 spans/run, 50 agents, 30 days, 5% task
errors) into a DuckDB file with the real schema, opens the real app (`create_app`, in-process
`TestClient`, so routing, the per-request projection sync, pydantic and JSON are all timed),
refreshes the rollups once, then times every endpoint. The baseline answers the same questions
from SQLite holding the same rows (one `spans` table, indexes on the filtered columns,
percentiles in Python as a SQLite-backed tool must), asked in a separate process so its
multi-GB reads and large Python results do not disturb the app's process. Calls are
interleaved round-robin
(every endpoint and every SQLite question once per round), medians over `--repeat` rounds.
Data files are cached under --dir (default /tmp/crewscope_bench_data) by size.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import duckdb
import gen_spans

API = "/api/v1/monitoring"
TARGET_MS = 50.0


def build_duckdb(path: str, spans: int) -> float:
    t = time.perf_counter()
    gen_spans.create(path, spans)
    return time.perf_counter() - t


SQLITE_COLS = (
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "SpanKind", "ServiceName",
    "SpanAttributes", "Duration", "StatusCode", "StatusMessage", "Events", "GenAiOperation",
    "CrewName", "TaskName", "AgentName", "ToolName", "Model", "ProviderName", "InputTokens",
    "OutputTokens", "CostUsd", "ErrorType",
)  # fmt: skip


def build_sqlite(duck_path: str, path: str) -> float:
    """Copy every span into SQLite (attributes and events as JSON text, times as ISO text)."""
    t = time.perf_counter()
    if os.path.exists(path):
        os.remove(path)
    lite = sqlite3.connect(path)
    lite.execute("PRAGMA journal_mode=WAL")
    lite.execute("PRAGMA synchronous=OFF")
    lite.execute(f"CREATE TABLE spans ({', '.join(SQLITE_COLS)})")
    src = duckdb.connect(duck_path, read_only=True)
    sel = ", ".join(
        'strftime("Timestamp", \'%Y-%m-%d %H:%M:%S.%f\')' if c == "Timestamp"
        else f'to_json("{c}")::VARCHAR' if c in ("SpanAttributes", "Events")
        else f'"{c}"'
        for c in SQLITE_COLS
    )  # fmt: skip
    res = src.execute(f"SELECT {sel} FROM otel_traces")
    ins = f"INSERT INTO spans VALUES ({', '.join('?' * len(SQLITE_COLS))})"
    while rows := res.fetchmany(100_000):
        lite.executemany(ins, rows)
    src.close()
    for idx in (
        "CREATE INDEX s_ts ON spans(Timestamp)",
        "CREATE INDEX s_op_ts ON spans(GenAiOperation, Timestamp)",
        "CREATE INDEX s_agent ON spans(AgentName, GenAiOperation, Timestamp)",
        "CREATE INDEX s_trace ON spans(TraceId)",
        "CREATE INDEX s_span ON spans(SpanId)",
    ):
        lite.execute(idx)
    lite.commit()
    lite.execute("ANALYZE")
    lite.close()
    return time.perf_counter() - t


# --- the same questions, asked of SQLite -------------------------------------------------


def _pct(sorted_vals: list[float], q: float) -> float | None:
    if not sorted_vals:
        return None
    pos = (len(sorted_vals) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def _grouped_pcts(rows: list[tuple[Any, float]], qs: tuple[float, ...]) -> dict[Any, list]:
    groups: dict[Any, list[float]] = {}
    for key, val in rows:
        groups.setdefault(key, []).append(val)
    return {k: [_pct(sorted(v), q) for q in qs] for k, v in groups.items()}


def sqlite_questions(lite: sqlite3.Connection, ids: dict[str, str]) -> dict[str, Callable[[], Any]]:
    now = datetime.now(timezone.utc).replace(tzinfo=None)

    def ago(days: int) -> str:
        return (now - timedelta(days=days)).isoformat(sep=" ")

    def q(sql: str, *params: Any) -> list[tuple]:
        return lite.execute(sql, params).fetchall()

    def runs(where: str = "", *params: Any) -> Any:
        base = f"FROM spans WHERE GenAiOperation = 'invoke_workflow' AND ParentSpanId = '' {where}"
        total = q(f"SELECT count(*) {base}", *params)
        page = q(f"SELECT * {base} ORDER BY Timestamp DESC LIMIT 20", *params)
        traces = [r[1] for r in page]
        marks = ",".join("?" * len(traces))
        totals = q(
            "SELECT TraceId, count(*), sum(GenAiOperation = 'invoke_agent'), "
            "sum(GenAiOperation = 'chat'), sum(GenAiOperation = 'execute_tool'), "
            f"sum(StatusCode = 'Error'), sum(CostUsd) FROM spans WHERE TraceId IN ({marks}) "
            "GROUP BY TraceId", *traces)  # fmt: skip
        return total, page, totals

    def tasks(where: str, *params: Any) -> Any:
        base = f"FROM spans WHERE GenAiOperation = 'invoke_agent' {where}"
        return q(f"SELECT count(*) {base}", *params), q(
            f"SELECT * {base} ORDER BY Timestamp DESC LIMIT 20", *params
        )

    def trace(trace_id: str) -> Any:
        return q("SELECT * FROM spans WHERE TraceId = ? ORDER BY Timestamp", trace_id)

    def agent_summary(days: int) -> Any:
        rows = q(
            "SELECT AgentName, count(*), sum(StatusCode != 'Error'), avg(Duration), "
            "sum(InputTokens), sum(OutputTokens) FROM spans "
            "WHERE GenAiOperation = 'invoke_agent' AND Timestamp >= ? GROUP BY AgentName",
            ago(days),
        )
        durs = q(
            "SELECT AgentName, Duration FROM spans "
            "WHERE GenAiOperation = 'invoke_agent' AND Timestamp >= ?", ago(days))  # fmt: skip
        cost = q(
            "SELECT AgentName, sum(CostUsd) FROM spans "
            "WHERE GenAiOperation = 'chat' AND Timestamp >= ? GROUP BY AgentName", ago(days))  # fmt: skip
        return rows, _grouped_pcts(durs, (0.95,)), cost

    def agent_metrics(days: int) -> Any:
        a = ids["agent"]
        durs = q(
            "SELECT Duration, StatusCode, InputTokens, OutputTokens FROM spans "
            "WHERE AgentName = ? AND GenAiOperation = 'invoke_agent' AND Timestamp >= ? "
            "ORDER BY Timestamp", a, ago(days))  # fmt: skip
        d = sorted(r[0] for r in durs)
        pcts = [_pct(d, x) for x in (0.5, 0.95, 0.99)]
        errors = q(
            "SELECT substr(coalesce(StatusMessage, ErrorType), 1, 100) AS e, count(*) AS n "
            "FROM spans WHERE AgentName = ? AND GenAiOperation = 'invoke_agent' "
            "AND StatusCode = 'Error' AND Timestamp >= ? GROUP BY e ORDER BY n DESC LIMIT 5",
            a, ago(days))  # fmt: skip
        cost = q(
            "SELECT sum(CostUsd) FROM spans WHERE AgentName = ? AND GenAiOperation = 'chat' "
            "AND Timestamp >= ?", a, ago(days))  # fmt: skip
        return pcts, errors, cost

    def daily(days: int) -> Any:
        rows = q(
            "SELECT substr(Timestamp, 1, 10) AS day, AgentName, Duration, StatusCode, "
            "InputTokens, OutputTokens FROM spans WHERE GenAiOperation = 'invoke_agent' "
            "AND Timestamp >= ?", ago(days))  # fmt: skip
        return _grouped_pcts([((r[0], r[1]), r[2]) for r in rows], (0.5, 0.95, 0.99))

    def dashboard() -> Any:
        totals = [
            q("SELECT count(*), sum(StatusCode = 'Error'), sum(InputTokens), sum(OutputTokens) "
              "FROM spans WHERE GenAiOperation = 'invoke_workflow' AND Timestamp >= ?", ago(d))
            + q("SELECT count(*), sum(StatusCode = 'Error'), avg(Duration) FROM spans "
                "WHERE GenAiOperation = 'invoke_agent' AND Timestamp >= ?", ago(d))
            + q("SELECT sum(CostUsd) FROM spans WHERE GenAiOperation = 'chat' "
                "AND Timestamp >= ?", ago(d))
            for d in (1, 7, 30)
        ]  # fmt: skip
        trend = q(
            "SELECT substr(Timestamp, 1, 10) AS day, count(*), sum(StatusCode = 'Error'), "
            "avg(Duration) FROM spans WHERE GenAiOperation = 'invoke_agent' "
            "AND Timestamp >= ? GROUP BY day", ago(30))  # fmt: skip
        return totals, agent_summary(7), trend

    def tools() -> Any:
        rows = q(
            "SELECT ToolName, count(*), sum(StatusCode = 'Error'), avg(Duration), max(Duration), "
            "count(DISTINCT AgentName) FROM spans WHERE GenAiOperation = 'execute_tool' "
            "AND Timestamp >= ? GROUP BY ToolName", ago(7))  # fmt: skip
        durs = q(
            "SELECT ToolName, Duration FROM spans WHERE GenAiOperation = 'execute_tool' "
            "AND Timestamp >= ?", ago(7))  # fmt: skip
        return rows, _grouped_pcts(durs, (0.5, 0.95))

    def llm() -> Any:
        rows = q(
            "SELECT Model, ProviderName, count(*), sum(StatusCode = 'Error'), sum(InputTokens), "
            "sum(OutputTokens), sum(CostUsd), avg(Duration) FROM spans "
            "WHERE GenAiOperation = 'chat' AND Timestamp >= ? GROUP BY Model, ProviderName",
            ago(7))  # fmt: skip
        durs = q(
            "SELECT Model, Duration FROM spans WHERE GenAiOperation = 'chat' AND Timestamp >= ?",
            ago(7))  # fmt: skip
        by_agent = q(
            "SELECT AgentName, count(*), sum(InputTokens), sum(OutputTokens), sum(CostUsd) "
            "FROM spans WHERE GenAiOperation = 'chat' AND Timestamp >= ? GROUP BY AgentName",
            ago(7))  # fmt: skip
        return rows, _grouped_pcts(durs, (0.5, 0.95)), by_agent

    def memory() -> Any:
        return q(
            "SELECT AgentName, count(*), sum(StatusCode = 'Error'), avg(Duration), "
            "max(Timestamp) FROM spans WHERE SpanName LIKE 'memory %' AND Timestamp >= ? "
            "GROUP BY AgentName", ago(30))  # fmt: skip

    def endpoints() -> Any:
        return q(
            "SELECT ServiceName, count(*) FROM spans WHERE SpanKind = 'Server' "
            "AND Timestamp >= ? GROUP BY ServiceName", ago(1))  # fmt: skip

    return {
        "runs": lambda: runs(),
        "runs?crew&status": lambda: runs("AND CrewName = ? AND StatusCode = 'Error'", "crew_3"),
        "runs/{id}": lambda: trace(ids["run"]),
        "tasks?agent&status": lambda: tasks(
            "AND AgentName = ? AND StatusCode = 'Error'", ids["agent"]),
        "tasks?crew&date": lambda: tasks("AND CrewName = ? AND Timestamp >= ?", "crew_3", ago(7)),
        "tasks/{id}": lambda: (q("SELECT * FROM spans WHERE SpanId = ?", ids["task"]),
                               trace(ids["run"])),
        "agents 7d": lambda: agent_summary(7),
        "agent metrics 7d realtime": lambda: agent_metrics(7),
        "agent metrics 30d realtime": lambda: agent_metrics(30),
        "agent metrics 30d aggregated": lambda: agent_metrics(30),
        "rollups/daily 30d": lambda: daily(30),
        "dashboard": dashboard,
        "tools 7d": tools,
        "llm 7d": llm,
        "memory/stats 30d": memory,
        "endpoints 1d": endpoints,
    }  # fmt: skip


def _sqlite_serve(path: str, ids: dict[str, str], conn: Any) -> None:
    lite = sqlite3.connect(path)
    questions = sqlite_questions(lite, ids)
    while (name := conn.recv()) is not None:
        t0 = time.perf_counter()
        questions[name]()
        conn.send(time.perf_counter() - t0)
    lite.close()


class SqliteWorker:
    """The SQLite side in a process of its own; `ask(name)` -> seconds for that question."""

    def __init__(self, path: str, ids: dict[str, str]) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_sqlite_serve, args=(path, ids, child), daemon=True)
        self._proc.start()

    def ask(self, name: str) -> float:
        self._conn.send(name)
        return float(self._conn.recv())

    def close(self) -> None:
        self._conn.send(None)
        self._proc.join(timeout=60)


def endpoints(ids: dict[str, str]) -> dict[str, str]:
    a = ids["agent"]
    week = (datetime.now(timezone.utc) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "runs": "/runs",
        "runs?crew&status": "/runs?crew=crew_3&status=failed",
        "runs/{id}": f"/runs/{ids['run']}",
        "tasks?agent&status": f"/tasks?agent={a}&status=failed",
        "tasks?crew&date": f"/tasks?crew=crew_3&start_date_from={week}",
        "tasks/{id}": f"/tasks/{ids['task']}",
        "agents 7d": "/agents?time_range=7d",
        "agent metrics 7d realtime": f"/agents/{a}/metrics?time_range=7d&metric_type=realtime",
        "agent metrics 30d realtime": f"/agents/{a}/metrics?time_range=30d&metric_type=realtime",
        "agent metrics 30d aggregated":
            f"/agents/{a}/metrics?time_range=30d&metric_type=aggregated",
        "rollups/daily 30d": "/rollups/daily?group_by=agent&limit=1000",
        "dashboard": "/dashboard",
        "tools 7d": "/tools?time_range=7d",
        "llm 7d": "/llm?time_range=7d",
        "memory/stats 30d": "/memory/stats?time_range=30d",
        "endpoints 1d": "/endpoints?time_range=1d",
    }  # fmt: skip


def sample_ids(path: str) -> dict[str, str]:
    con = duckdb.connect(path, read_only=True)
    (run,) = con.execute(  # a run from yesterday: typical "open the detail" case
        "SELECT TraceId FROM otel_traces WHERE GenAiOperation = 'invoke_workflow' "
        "AND Timestamp < now()::TIMESTAMP - INTERVAL 1 DAY ORDER BY Timestamp DESC LIMIT 1"
    ).fetchone()
    (task,) = con.execute(
        "SELECT SpanId FROM otel_traces WHERE TraceId = ? AND GenAiOperation = 'invoke_agent' "
        "LIMIT 1", [run]).fetchone()  # fmt: skip
    con.close()
    return {"run": run, "task": task, "agent": "agent_07"}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spans", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--dir", default="/tmp/crewscope_bench_data")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--fresh", action="store_true", help="regenerate the cached data files")
    p.add_argument("--only", default="", help="comma-separated endpoint names")
    args = p.parse_args(argv)

    os.makedirs(args.dir, exist_ok=True)
    duck = os.path.join(args.dir, f"spans_{args.spans}.duckdb")
    lite_path = os.path.join(args.dir, f"spans_{args.spans}.sqlite")
    # the app writes projections/rollups into its file: work on a copy of the generated one
    work = os.path.join(args.dir, f"work_{args.spans}_{os.getpid()}.duckdb")
    if args.fresh or not os.path.exists(duck):
        for f in (duck, duck + ".wal"):
            if os.path.exists(f):
                os.remove(f)
        dt = build_duckdb(duck, args.spans)
        print(f"generated {args.spans:,} spans in DuckDB SQL: {dt:.1f} s "
              f"({args.spans / dt:,.0f} spans/s)", flush=True)  # fmt: skip
    if not args.no_sqlite and (args.fresh or not os.path.exists(lite_path)):
        dt = build_sqlite(duck, lite_path)
        print(f"copied into SQLite (+5 indexes): {dt:.1f} s", flush=True)
    import shutil

    shutil.copyfile(duck, work)
    ids = sample_ids(duck)

    from fastapi.testclient import TestClient

    from crewscope.query_api.app import create_app

    t = time.perf_counter()
    app = create_app(work, rollup_interval_s=0, retention_days=None)
    t_open = time.perf_counter() - t
    results: dict[str, Any] = {"spans": args.spans, "endpoints": {}}
    try:
        with TestClient(app) as client:
            t = time.perf_counter()
            r = client.post(API + "/rollups/refresh")
            assert r.status_code == 200, r.text
            t_roll = time.perf_counter() - t
            print(f"app open (projection build over all spans) {t_open:.1f} s, "
                  f"rollup refresh 30 days {t_roll:.1f} s", flush=True)  # fmt: skip
            eps = endpoints(ids)
            names = [n for n in eps if not args.only or n in args.only.split(",")]
            # SQLite answers in its own process: its multi-GB reads and million-row Python
            # results must not disturb the app's memory and caches between calls
            lite = None if args.no_sqlite else SqliteWorker(lite_path, ids)
            times: dict[str, list[float]] = {n: [] for n in names}
            stimes: dict[str, list[float]] = {n: [] for n in names}

            def call(name: str) -> float:
                t0 = time.perf_counter()
                resp = client.get(API + eps[name])
                dt = time.perf_counter() - t0
                assert resp.status_code == 200, (name, resp.status_code, resp.text[:300])
                return dt

            for name in names:  # warm-up: first call plans and loads
                call(name)
                if lite:
                    lite.ask(name)
            for _ in range(args.repeat):
                for name in names:
                    times[name].append(call(name))
                    if lite:
                        stimes[name].append(lite.ask(name))
            if lite:
                lite.close()
    finally:
        for f in (work, work + ".wal"):
            if os.path.exists(f):
                os.remove(f)

    print(f"\n{args.spans:,} spans, median of {args.repeat} interleaved rounds "
          f"(target: <= {TARGET_MS:.0f} ms and >= 10x faster than SQLite)")  # fmt: skip
    print(f"{'endpoint':32s} {'crewscope ms':>12s} {'SQLite ms':>10s} {'speed-up':>9s}  target")
    for name in names:
        ms = statistics.median(times[name]) * 1e3
        sms = statistics.median(stimes[name]) * 1e3 if stimes[name] else None
        ratio = sms / ms if sms else None
        ok = ms <= TARGET_MS and (ratio is None or ratio >= 10)
        print(f"{name:32s} {ms:12.1f} {sms if sms is not None else float('nan'):10.1f} "
              f"{ratio if ratio else float('nan'):8.1f}x  {'met' if ok else 'MISSED'}")  # fmt: skip
        results["endpoints"][name] = {"ms": ms, "sqlite_ms": sms, "speedup": ratio}
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
