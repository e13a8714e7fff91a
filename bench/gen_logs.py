"""Log records for generated spans (gen_spans.py), as crewscope's log context stamps them.

Each step, LLM call and tool call span gets the record an app logs when it starts (INFO:
the step, the HTTP request of the call, the tool called), and each failed tool call and
task one more when it ends (WARNING: the tool's error; ERROR: the task's). Every record
carries the span's trace and span ids and the log context's attributes (crew, agent, task,
run and root run: the run's root span), in ``otel_logs`` of the DuckDB file, in time order.
At 25 spans a run that is about 18 records a run, 1 in 70 of them WARNING or above.

One ``INSERT ... SELECT`` over the spans: ``python bench/gen_logs.py SPANS.duckdb``.
"""

from __future__ import annotations

import sys
import time

import duckdb

SQL = """
INSERT INTO otel_logs BY NAME
WITH roots AS (
    SELECT "TraceId", "SpanId" AS run_id FROM otel_traces WHERE "ParentSpanId" = ''
),
spans AS (
    SELECT s.*, roots.run_id,
           CASE WHEN s."GenAiOperation" = 'chat' THEN 'chat'
                WHEN s."GenAiOperation" = 'execute_tool' THEN 'tool'
                WHEN s."GenAiOperation" = 'invoke_agent' THEN 'task'
                WHEN starts_with(s."SpanName", 'step ') THEN 'step' END AS kind
    FROM otel_traces s JOIN roots USING ("TraceId")
    WHERE s."GenAiOperation" IN ('chat', 'execute_tool', 'invoke_agent')
       OR starts_with(s."SpanName", 'step ')
),
records AS (
    SELECT *, "Timestamp" AS log_time, 9 AS severity,
           CASE kind
             WHEN 'step' THEN 'step ' || coalesce("SpanAttributes"['crewai.step.index'], '?')
                              || ' of ' || "TaskName"
             WHEN 'chat' THEN 'HTTP Request: POST http://llm.internal/v1/chat/completions '
                              || '"HTTP/1.1 200 OK"'
             ELSE 'calling tool ' || "ToolName" END AS body,
           CASE kind WHEN 'chat' THEN 'httpx' ELSE 'crew_app' END AS scope
    FROM spans WHERE kind IN ('step', 'chat', 'tool')
    UNION ALL
    SELECT *, "Timestamp" + to_microseconds("Duration" // 1000),
           CASE kind WHEN 'tool' THEN 13 ELSE 17 END,
           CASE kind WHEN 'tool' THEN 'tool ' || "ToolName" || ' failed: ' || "StatusMessage"
                     ELSE 'task ' || "TaskName" || ' failed: ' || "StatusMessage" END,
           'crew_app'
    FROM spans WHERE kind IN ('tool', 'task') AND "StatusCode" = 'Error'
)
SELECT
    log_time AS "Timestamp", "TraceId", "SpanId", 1 AS "TraceFlags",
    CASE severity WHEN 9 THEN 'INFO' WHEN 13 THEN 'WARNING' ELSE 'ERROR' END
        AS "SeverityText",
    severity AS "SeverityNumber", "ServiceName", body AS "Body",
    "ResourceAttributes", scope AS "ScopeName", MAP {} AS "ScopeAttributes",
    MAP(['crewai.crew.name', 'gen_ai.agent.name', 'crewai.task.name', 'crewscope.run.id',
         'crewscope.run.root_id', 'code.function.name'],
        ["CrewName", "AgentName", "TaskName", run_id, run_id, kind]) AS "LogAttributes",
    "CrewName", "AgentName", "TaskName", run_id AS "RunId", run_id AS "RootRunId"
FROM records
ORDER BY log_time, "SpanId", severity
"""


def generate(con: duckdb.DuckDBPyConnection) -> int:
    """Insert the records of every span in ``otel_traces``; returns how many."""
    before = con.execute("SELECT count(*) FROM otel_logs").fetchone()
    con.execute(SQL)
    after = con.execute("SELECT count(*) FROM otel_logs").fetchone()
    return int(after[0] if after else 0) - int(before[0] if before else 0)


def add_logs(path: str) -> int:
    """Add the records of the spans of the database file at `path` (crewscope schema)."""
    from crewscope.exporter import SpanStore

    store = SpanStore(path)
    try:
        con = store.cursor()
        n = generate(con)
        con.execute("CHECKPOINT")
        con.close()
    finally:
        store.close()
    return n


if __name__ == "__main__":
    t = time.perf_counter()
    n = add_logs(sys.argv[1])
    print(f"{n:,} log records in {time.perf_counter() - t:.1f} s")
