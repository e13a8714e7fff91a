-- Every known agent with its execution summary over [$start, $end].
WITH known AS (
    SELECT DISTINCT "AgentName" FROM crewscope_tasks WHERE "AgentName" IS NOT NULL
    UNION
    SELECT DISTINCT "AgentName" FROM crewscope_rollup_agent_daily
),
w AS (
    SELECT
        "AgentName",
        count(*) AS n,
        count(*) FILTER (WHERE NOT "Failed") AS ok,
        avg("DurationMs") AS avg_ms,
        quantile_cont("DurationMs", 0.95) AS p95_ms,
        coalesce(sum("InputTokens"), 0) AS input_tokens,
        coalesce(sum("OutputTokens"), 0) AS output_tokens
    FROM crewscope_tasks
    WHERE "Timestamp" BETWEEN $start AND $end
    GROUP BY ALL
),
c AS (
    SELECT "AgentName", sum("CostUsd") AS cost
    FROM crewscope_llm_calls
    WHERE "Timestamp" BETWEEN $start AND $end AND "AgentName" IS NOT NULL
    GROUP BY ALL
),
last AS (
    SELECT "AgentName", max("Timestamp") AS last_ts FROM crewscope_tasks GROUP BY ALL
)
SELECT
    known."AgentName" AS agent,
    coalesce(n, 0) AS total_executions,
    coalesce(ok, 0) AS successful_executions,
    coalesce(n - ok, 0) AS failed_executions,
    100.0 * ok / n AS success_rate,
    avg_ms, p95_ms,
    coalesce(input_tokens, 0) AS input_tokens,
    coalesce(output_tokens, 0) AS output_tokens,
    cost AS cost_usd,
    last_ts AS last_execution
FROM known
LEFT JOIN w USING ("AgentName")
LEFT JOIN c USING ("AgentName")
LEFT JOIN last USING ("AgentName")
ORDER BY total_executions DESC, agent
