-- Every known agent with its execution summary over [$start, $end]: counts, tokens and cost
-- from the hourly sums of the whole hours [$h_from, $h_to) plus the raw edge rows
-- (query_api/windows.py); p95 from the executions themselves; crew and service of each
-- agent's latest execution (any time: the one last_execution names).
WITH known AS (
    SELECT DISTINCT "AgentName" FROM crewscope_agent_hourly
    WHERE "AgentName" <> '' AND "Executions" > 0
    UNION
    SELECT DISTINCT "AgentName" FROM crewscope_rollup_agent_daily
),
parts AS (
    SELECT "AgentName", sum("Executions") AS n, sum("Executions" - "Failed") AS ok,
           sum("SumMs") AS ms, sum("InputTokens") AS in_t, sum("OutputTokens") AS out_t,
           sum("CostUsd") AS cost
    FROM crewscope_agent_hourly
    WHERE "Hour" >= $h_from AND "Hour" < $h_to AND "AgentName" <> ''
    GROUP BY ALL
    UNION ALL
    SELECT "AgentName", count(*), count(*) FILTER (WHERE NOT "Failed"), sum("DurationMs"),
           sum("InputTokens"), sum("OutputTokens"), NULL
    FROM crewscope_tasks
    WHERE (("Timestamp" >= $start AND "Timestamp" < $h_from)
           OR ("Timestamp" >= $h_to AND "Timestamp" <= $end))
      AND "AgentName" IS NOT NULL
    GROUP BY ALL
    UNION ALL
    SELECT "AgentName", 0, 0, 0, 0, 0, sum("CostUsd")
    FROM crewscope_llm_calls
    WHERE (("Timestamp" >= $start AND "Timestamp" < $h_from)
           OR ("Timestamp" >= $h_to AND "Timestamp" <= $end))
      AND "AgentName" IS NOT NULL
    GROUP BY ALL
),
w AS (
    SELECT "AgentName", sum(n) AS n, sum(ok) AS ok, sum(ms) / nullif(sum(n), 0) AS avg_ms,
           coalesce(sum(in_t), 0) AS input_tokens, coalesce(sum(out_t), 0) AS output_tokens,
           sum(cost) AS cost
    FROM parts
    GROUP BY ALL
),
p95 AS (
    SELECT "AgentName", quantile_cont("DurationMs", 0.95) AS p95_ms
    FROM crewscope_tasks
    WHERE "Timestamp" BETWEEN $start AND $end
    GROUP BY ALL
),
last AS (
    SELECT "AgentName", max("LastTs") AS last_ts FROM crewscope_agent_hourly GROUP BY ALL
),
latest AS (
    -- the span of each agent's latest execution: it started at last_ts (which the hourly
    -- sums may hold cut to microseconds)
    SELECT last."AgentName", min({'crew': t."CrewName", 'service': t."ServiceName"}) AS span
    FROM last
    JOIN otel_traces t
      ON t."AgentName" = last."AgentName"
     AND t."Timestamp" >= last.last_ts AND t."Timestamp" < last.last_ts + INTERVAL 1 MICROSECOND
    WHERE t."GenAiOperation" = 'invoke_agent'
    GROUP BY ALL
)
SELECT
    known."AgentName" AS agent,
    coalesce(n, 0) AS total_executions,
    coalesce(ok, 0) AS successful_executions,
    coalesce(n - ok, 0) AS failed_executions,
    100.0 * ok / nullif(n, 0) AS success_rate,
    avg_ms, p95_ms,
    coalesce(input_tokens, 0) AS input_tokens,
    coalesce(output_tokens, 0) AS output_tokens,
    cost AS cost_usd,
    last_ts AS last_execution,
    latest.span.crew AS crew,
    latest.span.service AS service
FROM known
LEFT JOIN w USING ("AgentName")
LEFT JOIN p95 USING ("AgentName")
LEFT JOIN last USING ("AgentName")
LEFT JOIN latest USING ("AgentName")
ORDER BY total_executions DESC, agent
