"""Realistic crew-run spans in the real ``otel_traces`` schema, generated in DuckDB SQL.

One run = one trace of 25 spans (SPANS.md): the crew span, then 3 tasks, each with two
agent steps (step 1: a chat call and two tool calls; step 2: the final-answer chat call)
and one memory save. 50 agents, 10 crews, 3 models, runs spread evenly over the last
`days` days up to now, inserted in time order (as live ingest appends them). About 5% of
task executions fail (the run fails with them) and 5% of tool calls raise.

Everything is one ``INSERT ... SELECT`` over ``range(runs) x template``: no Python loop,
~1-2 µs per span. Usage: ``python bench/gen_spans.py OUT.duckdb 1000000``.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

import duckdb

SPANS_PER_RUN = 25
CHUNK_RUNS = 20_000  # 500k spans per INSERT
AGENTS = 50
CREWS = 10
MODELS = (("gpt-4o-mini", "openai", 0.15, 0.60), ("gpt-4o", "openai", 2.5, 10.0),
          ("claude-3-5-sonnet", "anthropic", 3.0, 15.0))  # fmt: skip
"""(model, provider, $ per 1M input tokens, $ per 1M output tokens)."""


def _template() -> list[tuple[int, str, int, int, int, int, int]]:
    """(slot, kind, task 0-2 or -1, parent slot or -1, offset ms, duration ms, step)."""
    rows = [(0, "crew", -1, -1, 0, 30_000, 0)]
    for j in range(3):
        a = 1 + 8 * j
        t0 = 10_000 * j
        rows += [
            (a, "task", j, 0, t0 + 10, 9_000, 0),
            (a + 1, "step", j, a, t0 + 20, 5_000, 1),
            (a + 2, "chat", j, a + 1, t0 + 30, 3_000, 1),
            (a + 3, "tool", j, a + 1, t0 + 3_100, 600, 1),
            (a + 4, "tool", j, a + 1, t0 + 3_800, 900, 1),
            (a + 5, "step", j, a, t0 + 5_100, 3_500, 2),
            (a + 6, "chat", j, a + 5, t0 + 5_110, 3_200, 2),
            (a + 7, "memory", j, a, t0 + 8_700, 250, 0),
        ]
    return rows


def generate(
    con: duckdb.DuckDBPyConnection,
    spans: int,
    *,
    days: int = 30,
    now: datetime | None = None,
    error_rate: float = 0.05,
) -> int:
    """Insert about `spans` spans (whole runs) into ``otel_traces``; returns the count.

    Inserted in chunks of `CHUNK_RUNS` runs (bounded memory: one sorted chunk at a time).
    """
    runs = max(1, spans // SPANS_PER_RUN)
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    first = now - timedelta(days=days)
    step_us = int(days * 86_400e6 / runs)
    tmpl = ", ".join(
        f"({s}, '{k}', {t}, {p}, {o}, {d}, {st})" for s, k, t, p, o, d, st in _template()
    )
    models = ", ".join(f"({i}, '{m}', '{p}', {i_}, {o_})" for i, (m, p, i_, o_) in
                       enumerate(MODELS))  # fmt: skip
    err_mod = int(round(1 / error_rate)) if error_rate > 0 else 0
    sql = f"""
    INSERT INTO otel_traces BY NAME
    WITH tmpl(slot, kind, task, parent, off_ms, dur_ms, step) AS (VALUES {tmpl}),
    models(mi, model, provider, pin, pout) AS (VALUES {models}),
    runs AS (
        SELECT r,
               md5(r::VARCHAR) AS trace_id,
               TIMESTAMP_NS '{first.isoformat()}' + to_microseconds(r * {step_us}) AS t0,
               r % {CREWS} AS crew_i,
               -- the task (0-2) that fails in this run, or -1 (error_rate of tasks fail)
               CASE WHEN {err_mod} > 0 AND hash(r, 'err') % {err_mod} < 3
                    THEN (hash(r, 'errtask') % 3)::INT ELSE -1 END AS bad_task
        FROM range($lo, $hi) t(r)
    ),
    s AS (
        SELECT runs.*, tmpl.*,
               ((crew_i * 7 + task * 13 + (hash(r, 'agent') % 5)::INT * 3) % {AGENTS}) AS agent_i,
               (hash(r, slot) % 1000)::INT AS jitter,
               (hash(r, slot, 'm') % 3)::INT AS mi_,
               task >= 0 AND task = bad_task AS task_failed,
               kind = 'tool' AND hash(r, slot, 'toolerr') % 20 = 0 AS tool_failed
        FROM runs CROSS JOIN tmpl
    ),
    v AS (
        SELECT s.*, models.*,
               'crew_' || crew_i AS crew,
               'agent_' || lpad(agent_i::VARCHAR, 2, '0') AS agent,
               'task_' || (crew_i * 3 + task) AS task_name,
               CASE WHEN jitter % 2 = 0 THEN 'web_search' ELSE 'word_counter' END AS tool,
               (300 + jitter * 3)::BIGINT AS in_tok,
               (50 + jitter // 3)::BIGINT AS out_tok,
               (kind = 'crew' AND bad_task >= 0) OR (kind = 'task' AND task_failed)
                   OR tool_failed AS failed
        FROM s JOIN models ON models.mi = s.mi_
    )
    SELECT
        t0 + to_microseconds((off_ms::BIGINT * 1000 + jitter)) AS "Timestamp",
        trace_id AS "TraceId",
        printf('%016x', r * 32 + slot) AS "SpanId",
        CASE WHEN parent < 0 THEN '' ELSE printf('%016x', r * 32 + parent) END AS "ParentSpanId",
        '' AS "TraceState",
        CASE kind WHEN 'crew' THEN 'invoke_workflow ' || crew
                  WHEN 'task' THEN 'invoke_agent ' || agent
                  WHEN 'step' THEN 'step ' || agent
                  WHEN 'chat' THEN 'chat ' || model
                  WHEN 'tool' THEN 'execute_tool ' || tool
                  ELSE 'memory save' END AS "SpanName",
        CASE kind WHEN 'chat' THEN 'Client' ELSE 'Internal' END AS "SpanKind",
        'crew-app' AS "ServiceName",
        MAP {{'service.name': 'crew-app', 'telemetry.sdk.name': 'opentelemetry'}}
            AS "ResourceAttributes",
        'crewscope.instrumentation' AS "ScopeName",
        '0.1.0' AS "ScopeVersion",
        CASE kind
          WHEN 'crew' THEN MAP(
            ['gen_ai.operation.name', 'gen_ai.workflow.name', 'crewai.crew.name',
             'crewai.crew.id', 'crewai.crew.process', 'crewai.crew.kickoff',
             'crewai.crew.input_keys', 'gen_ai.usage.input_tokens',
             'gen_ai.usage.output_tokens', 'crewscope.llm.calls'],
            ['invoke_workflow', crew, crew, md5(crew), 'sequential', 'kickoff', '["topic"]',
             (6 * in_tok)::VARCHAR, (6 * out_tok)::VARCHAR, '6'])
          WHEN 'task' THEN MAP(
            ['gen_ai.operation.name', 'gen_ai.agent.name', 'gen_ai.agent.id',
             'crewai.task.name', 'crewai.task.id', 'crewai.crew.name',
             'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens',
             'crewscope.llm.calls', 'crewscope.tool.calls'],
            ['invoke_agent', agent, md5(agent), task_name, md5(task_name), crew,
             (2 * in_tok)::VARCHAR, (2 * out_tok)::VARCHAR, '2', '2'])
          WHEN 'step' THEN MAP(
            ['crewai.step.index', 'crewai.step.type', 'gen_ai.agent.name', 'crewai.task.name',
             'crewai.crew.name'],
            [step::VARCHAR, CASE step WHEN 1 THEN 'tool_call' ELSE 'final_answer' END, agent,
             task_name, crew])
          WHEN 'chat' THEN MAP(
            ['gen_ai.operation.name', 'gen_ai.provider.name', 'gen_ai.request.model',
             'gen_ai.response.model', 'gen_ai.usage.input_tokens',
             'gen_ai.usage.output_tokens', 'gen_ai.agent.name', 'crewai.task.name',
             'crewai.crew.name'],
            ['chat', provider, model, model, in_tok::VARCHAR, out_tok::VARCHAR, agent,
             task_name, crew])
          WHEN 'tool' THEN MAP(
            ['gen_ai.operation.name', 'gen_ai.tool.name', 'gen_ai.tool.type',
             'gen_ai.tool.call.id', 'crewai.tool.from_cache', 'gen_ai.agent.name',
             'crewai.task.name', 'crewai.crew.name'],
            ['execute_tool', tool, 'function', 'call_' || (r * 32 + slot)::VARCHAR, 'false',
             agent, task_name, crew])
          ELSE MAP(['crewai.memory.operation', 'gen_ai.agent.name'], ['save', agent])
        END AS "SpanAttributes",
        ((dur_ms::BIGINT * 1000 + jitter * 1000 * (CASE kind WHEN 'crew' THEN 0 ELSE 1 END)) * 1000)::BIGINT
            AS "Duration",
        CASE WHEN failed THEN 'Error' WHEN kind IN ('crew', 'task') THEN 'Ok' ELSE 'Unset' END
            AS "StatusCode",
        CASE WHEN failed AND kind = 'tool' THEN 'RuntimeError: ' || tool || ' is broken'
             WHEN failed THEN 'RateLimitError: provider returned 429 after 3 retries'
             ELSE NULL END AS "StatusMessage",
        CASE WHEN failed THEN [{{'Timestamp': t0 + to_microseconds((off_ms::BIGINT * 1000 + 900)),
                                'Name': 'exception',
                                'Attributes': MAP(['exception.type', 'exception.message'],
                                                  ['RuntimeError', 'boom'])}}]
             ELSE [] END AS "Events",
        [] AS "Links",
        CASE kind WHEN 'crew' THEN 'invoke_workflow' WHEN 'task' THEN 'invoke_agent'
                  WHEN 'chat' THEN 'chat' WHEN 'tool' THEN 'execute_tool' ELSE NULL END
            AS "GenAiOperation",
        crew AS "CrewName",
        CASE WHEN kind = 'crew' THEN NULL ELSE task_name END AS "TaskName",
        CASE WHEN kind = 'crew' THEN NULL ELSE agent END AS "AgentName",
        CASE WHEN kind = 'tool' THEN tool END AS "ToolName",
        CASE WHEN kind = 'chat' THEN model END AS "Model",
        CASE WHEN kind = 'chat' THEN provider END AS "ProviderName",
        CASE kind WHEN 'chat' THEN in_tok WHEN 'task' THEN 2 * in_tok
                  WHEN 'crew' THEN 6 * in_tok END AS "InputTokens",
        CASE kind WHEN 'chat' THEN out_tok WHEN 'task' THEN 2 * out_tok
                  WHEN 'crew' THEN 6 * out_tok END AS "OutputTokens",
        CASE WHEN kind = 'chat' THEN (in_tok * pin + out_tok * pout) / 1e6 END AS "CostUsd",
        CASE WHEN failed AND kind = 'tool' THEN 'RuntimeError'
             WHEN failed THEN 'RateLimitError' END AS "ErrorType"
    FROM v
    ORDER BY r, slot
    """
    for lo in range(0, runs, CHUNK_RUNS):
        con.execute(sql, {"lo": lo, "hi": min(runs, lo + CHUNK_RUNS)})
    return runs * SPANS_PER_RUN


def create(path: str, spans: int, **kwargs: object) -> int:
    """A new database file at `path` with the crewscope schema and `spans` generated spans."""
    from crewscope.exporter import SpanStore

    store = SpanStore(path)
    try:
        con = store.cursor()
        n = generate(con, spans, **kwargs)  # type: ignore[arg-type]
        con.execute("CHECKPOINT")
        con.close()
    finally:
        store.close()
    return n


if __name__ == "__main__":
    out, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    t = time.perf_counter()
    n = create(out, count)
    dt = time.perf_counter() - t
    print(f"{n:,} spans in {dt:.1f} s ({n / dt:,.0f} spans/s) -> {out}")
