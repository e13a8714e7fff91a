"""The main job: run the sample crews and flow instrumented, land them in DuckDB, print a
summary.

By default the crew talks to the bundled fake OpenAI-compatible server on 127.0.0.1,
so nothing leaves the machine. ``--real`` uses OpenAI itself (needs ``OPENAI_API_KEY``;
``--model`` picks the model).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any

from crewscope.demo.env import apply_offline_env

SUMMARY_SQL = """
SELECT
    count(*) FILTER (WHERE run_kind IS NOT NULL AND parent IS NULL)   AS runs,
    count(*) FILTER (WHERE run_kind = 'flow')                         AS flow_runs,
    count(*) FILTER (WHERE run_kind = 'crew' AND parent IS NOT NULL)  AS nested_crew_runs,
    count(*) FILTER (WHERE GenAiOperation = 'invoke_agent')     AS tasks,
    count(DISTINCT AgentName) FILTER (WHERE GenAiOperation = 'invoke_agent') AS agents,
    count(*) FILTER (WHERE SpanName LIKE 'step %')              AS steps,
    count(*) FILTER (WHERE GenAiOperation = 'execute_tool')     AS tool_calls,
    count(*) FILTER (WHERE GenAiOperation = 'execute_tool' AND StatusCode = 'Error') AS tool_errors,
    count(*) FILTER (WHERE GenAiOperation = 'chat')             AS llm_calls,
    count(*) FILTER (WHERE SpanName LIKE 'memory %')            AS memory_ops,
    coalesce(sum(InputTokens) FILTER (WHERE GenAiOperation = 'chat'), 0)  AS input_tokens,
    coalesce(sum(OutputTokens) FILTER (WHERE GenAiOperation = 'chat'), 0) AS output_tokens,
    sum(CostUsd) FILTER (WHERE GenAiOperation = 'chat')         AS cost_usd
FROM (
    SELECT *, SpanAttributes['crewscope.run.kind'] AS run_kind,
        SpanAttributes['crewscope.run.parent_id'] AS parent
    FROM otel_traces WHERE Timestamp >= ?
)
"""

PER_TASK_SQL = """
SELECT CrewName, AgentName, TaskName, StatusCode, Duration / 1e6 AS ms, InputTokens, OutputTokens
FROM otel_traces
WHERE GenAiOperation = 'invoke_agent' AND Timestamp >= ?
ORDER BY Timestamp
"""


def _run_crews(base_url: str | None, model: str, runs: int, memory_dir: str) -> None:
    """Kick off the sample crew ``runs`` times, then the sample flow once.

    Every other run uses a tool that raises (CrewAI recovers; the tool span is an error), and
    the first crew has memory (offline embedder), so every kind of span shows up.
    """
    from crewscope.demo.crew import build_crew, make_llm, make_memory, word_counter_tool

    llm = make_llm(base_url, model=model)
    memory = make_memory(llm, memory_dir)
    crews = [
        ("research_crew", word_counter_tool()),
        ("flaky_tool_crew", word_counter_tool(fail=True)),
    ]
    for i in range(runs):
        name, tool = crews[i % len(crews)]
        extra = {"memory": memory} if name == "research_crew" else {}
        crew = build_crew(llm, tool=tool, name=name, **extra)
        crew.kickoff(inputs={"topic": ["OpenTelemetry", "DuckDB", "CrewAI"][i % 3]})
    from crewscope.demo.flow import build_flow

    build_flow(llm).kickoff(inputs={"topic": "agent observability"})


def _print_summary(db_path: str, since: datetime, seconds: float) -> None:
    import duckdb

    con = duckdb.connect(db_path, read_only=True)
    try:
        cur = con.execute(SUMMARY_SQL, [since])
        row = cur.fetchone()
        assert row is not None and cur.description is not None
        summary = dict(zip([d[0] for d in cur.description], row, strict=True))
        tasks = con.execute(PER_TASK_SQL, [since]).fetchall()
    finally:
        con.close()
    print(f"\ncrewscope demo: {summary['runs']} runs in {seconds:.1f}s -> {db_path}")
    for key, value in summary.items():
        shown = f"{value:.6f}" if isinstance(value, float) else value
        print(f"  {key:<16} {shown}")
    print("\n  crew             agent        task      status  ms       in/out tokens")
    for crew, agent, task, status, ms, tin, tout in tasks:
        print(f"  {crew or '':<16} {agent:<12} {task:<9} {status:<7} {ms:8.1f} {tin}/{tout}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crewscope demo", description=__doc__)
    parser.add_argument("--db", default=os.environ.get("CREWSCOPE_DB", "crewscope.duckdb"))
    parser.add_argument(
        "--runs", type=int, default=4, help="crew kickoffs before the flow (default 4)"
    )
    parser.add_argument("--real", action="store_true", help="use OpenAI (OPENAI_API_KEY)")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument(
        "--otlp",
        metavar="URL",
        help="also send spans, metrics and logs over OTLP/HTTP to URL "
        "(e.g. a crewscope serve or a Collector at http://127.0.0.1:4318)",
    )
    ns = parser.parse_args(argv)
    apply_offline_env()

    from crewscope.demo.fake_llm import FakeLLMServer
    from crewscope.instrumentation.configure import configure

    server: Any = None
    base_url = None
    if ns.real:
        if not os.environ.get("OPENAI_API_KEY"):
            print("--real needs OPENAI_API_KEY", file=sys.stderr)
            return 2
    else:
        server = FakeLLMServer().start()
        base_url = server.base_url
        os.environ.setdefault("OPENAI_API_KEY", "sk-crewscope-local")
    both = ["duckdb", "otlp"] if ns.otlp else ["duckdb"]
    telemetry = configure(
        exporters=both,
        metrics_exporters=both if ns.otlp else None,
        logs_exporters=both if ns.otlp else None,
        logs=True,
        db_path=ns.db,
        otlp_endpoint=ns.otlp,
        service_name=os.environ.get("OTEL_SERVICE_NAME") or "crewscope-demo",
    )
    started = time.perf_counter()
    since = datetime.now(timezone.utc).replace(tzinfo=None)
    try:
        memory_dir = os.path.join(os.path.dirname(os.path.abspath(ns.db)), ".crewscope-memory")
        _run_crews(base_url, ns.model, ns.runs, memory_dir)
    finally:
        telemetry.shutdown()  # flushes and releases the DuckDB file for the server
        if server is not None:
            server.stop()
    _print_summary(ns.db, since, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
