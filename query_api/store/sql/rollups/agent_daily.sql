-- Daily per-agent rollup rows for task executions that started in [$ts_from, $ts_to).
-- Tokens come from the task spans, cost from the agent's LLM calls (by their own day; from
-- crewscope_llm_calls, where calls that named no agent have their enclosing span's).
INSERT INTO crewscope_rollup_agent_daily
WITH t AS (
    SELECT
        "Timestamp"::DATE AS "Day", "AgentName",
        count(*) AS n,
        count(*) FILTER (WHERE NOT "Failed") AS ok,
        sum("DurationMs") AS sum_ms,
        min("DurationMs") AS min_ms,
        max("DurationMs") AS max_ms,
        quantile_cont("DurationMs", [0.5, 0.95, 0.99]) AS q,
        list_sort(list("DurationMs")) AS durations,
        coalesce(sum("InputTokens"), 0) AS input_tokens,
        coalesce(sum("OutputTokens"), 0) AS output_tokens
    FROM crewscope_tasks
    WHERE "Timestamp" >= $ts_from AND "Timestamp" < $ts_to AND "AgentName" IS NOT NULL
    GROUP BY ALL
),
c AS (
    SELECT "Timestamp"::DATE AS "Day", "AgentName", sum("CostUsd") AS cost
    FROM crewscope_llm_calls
    WHERE "Timestamp" >= $ts_from AND "Timestamp" < $ts_to AND "AgentName" IS NOT NULL
    GROUP BY ALL
)
SELECT
    "Day", "AgentName",
    coalesce(n, 0), coalesce(ok, 0), coalesce(n - ok, 0),
    100.0 * ok / n,
    coalesce(sum_ms, 0), sum_ms / n, min_ms, max_ms, q[1], q[2], q[3],
    coalesce(durations, []::DOUBLE[]),
    coalesce(input_tokens, 0), coalesce(output_tokens, 0),
    cost,
    $now
FROM t FULL OUTER JOIN c USING ("Day", "AgentName")
