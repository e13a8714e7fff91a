"""Projection sync cost of the late context (query_api/store/late_agents.py) at scale.

On a copy of the generated file (`gen_spans`, crewscope's own spans), times one sync of
one new crewscope run (25 spans) while no span of another instrumentation ever missed an
agent or crew (the flag off: the count query only), then a peer's trace arriving late in
three windows (its calls without agent or crew, then its task, then its crew: the matching,
the walk and the updates of the projections and of otel_traces), then crewscope runs again
with the flag on (each window with named spans looks for spans missing something around it).

    .venv/bin/python bench/bench_late_context.py --spans 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone

SPAN = (
    'INSERT INTO otel_traces BY NAME SELECT $ts::TIMESTAMP_NS AS "Timestamp", $trace AS '
    '"TraceId", $span AS "SpanId", $parent AS "ParentSpanId", $name AS "SpanName", '
    "'SPAN_KIND_INTERNAL' AS \"SpanKind\", 'peer_app' AS \"ServiceName\", "
    "'openinference.instrumentation.crewai' AS \"ScopeName\", "
    "MAP {'crewscope.source': 'openinference'} AS \"SpanAttributes\", $dur AS \"Duration\", "
    '\'Unset\' AS "StatusCode", $op AS "GenAiOperation", $crew AS "CrewName", '
    '$agent AS "AgentName", $model AS "Model", $tokens AS "InputTokens"'
)
COPY_RUN = (  # one generated crewscope run again, as a new trace starting now
    'INSERT INTO otel_traces SELECT * REPLACE ($trace AS "TraceId", '
    '"Timestamp" - $shift AS "Timestamp", md5("SpanId" || $trace)[:16] AS "SpanId", '
    "CASE WHEN \"ParentSpanId\" = '' THEN '' ELSE md5(\"ParentSpanId\" || $trace)[:16] END "
    'AS "ParentSpanId") FROM otel_traces WHERE "TraceId" = $sample'
)


def _ms(f: object) -> float:
    t = time.perf_counter()
    f()  # type: ignore[operator]
    return (time.perf_counter() - t) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spans", type=int, default=1_000_000)
    p.add_argument("--dir", default="/tmp/crewscope_bench_data")
    p.add_argument("--runs", type=int, default=15)
    args = p.parse_args()
    src = os.path.join(args.dir, f"spans_{args.spans}.duckdb")
    if not os.path.exists(src):
        from bench.bench_query import build_duckdb

        build_duckdb(src, args.spans)
    work = os.path.join(args.dir, f"late_{args.spans}_{os.getpid()}.duckdb")
    shutil.copyfile(src, work)
    from crewscope.query_api.store.database import Database

    t = time.perf_counter()
    db = Database(work)
    db.sync_projections()
    print(f"open + projections: {time.perf_counter() - t:.1f} s")
    con = db.store.cursor()
    sample, last = con.execute(
        "SELECT \"TraceId\", \"Timestamp\" FROM otel_traces WHERE \"GenAiOperation\" = "
        "'invoke_workflow' ORDER BY \"Timestamp\" DESC LIMIT 1"
    ).fetchone()  # fmt: skip
    now = datetime.now(timezone.utc).replace(tzinfo=None)

    def crewscope_runs(label: str) -> None:
        times = []
        for _ in range(args.runs):
            shift = last - now - timedelta(seconds=len(times))  # the copy starts about now
            con.execute(COPY_RUN, {"trace": uuid.uuid4().hex, "shift": shift, "sample": sample})
            times.append(_ms(db.sync_projections))
        print(f"{label}: sync of one crewscope run (25 spans), median "
              f"{statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f})")  # fmt: skip

    print(
        f"empty sync (nothing new): {statistics.median(_ms(db.sync_projections) for _ in range(9)):.2f} ms"
    )
    crewscope_runs("flag off")

    trace, t0 = uuid.uuid4().hex, now - timedelta(minutes=2)
    ids = {k: uuid.uuid4().hex[:16] for k in ("crew", "task", "call", "tool")}
    s = timedelta(seconds=1)

    def span(key: str, parent: str, at: timedelta, dur: timedelta, **kw: object) -> None:
        row = {"ts": t0 + at, "trace": trace, "span": ids[key], "parent": parent, "name": key,
               "dur": int(dur.total_seconds() * 1e9), "op": None, "crew": None, "agent": None,
               "model": None, "tokens": None} | kw  # fmt: skip
        con.execute(SPAN, row)

    span("call", ids["task"], 2 * s, s, op="chat", model="gpt-4o-mini", tokens=100)
    span("tool", ids["task"], 4 * s, s, op="execute_tool")
    print(f"peer window 1 (its calls, no agent or crew): {_ms(db.sync_projections):.1f} ms")
    span("task", ids["crew"], s, 8 * s, op="invoke_agent", agent="Researcher")
    print(f"peer window 2 (its task: calls get the agent): {_ms(db.sync_projections):.1f} ms")
    span("crew", "", 0 * s, 10 * s, op="invoke_workflow", crew="peer_crew")
    print(f"peer window 3 (its crew: calls and task get it): {_ms(db.sync_projections):.1f} ms")
    got = con.execute(
        'SELECT "SpanName", "AgentName", "CrewName" FROM otel_traces WHERE "TraceId" = ? '
        "ORDER BY ALL", [trace]
    ).fetchall()  # fmt: skip
    print("peer spans after:", got)
    crewscope_runs("flag on")
    con.close()
    db.close()
    os.remove(work)


if __name__ == "__main__":
    main()
