-- ClickHouse text of store/sql/reads/agent_list.sql. Counts, tokens, average and p95 from
-- the executions of the window [$start, $end] (one range of the task rows, which are sorted
-- by start); the cost from the hourly LLM sums of the whole hours [$h_from, $h_to) plus the
-- raw calls of the edges, priced per model; known agents, their last execution and its crew
-- and service from the hourly sums and the task rows (the agents with a task execution).
WITH last AS (
    SELECT "AgentName" AS name, max("LastTs") AS last_ts
    FROM crewscope_agent_hourly_sums WHERE "AgentName" <> '' GROUP BY name
),
w AS (
    SELECT "AgentName" AS name, count(*) AS wn, count(*) FILTER (WHERE NOT "Failed") AS wok,
           sum("DurationMs") / nullIf(count(*), 0) AS w_avg_ms,
           coalesce(sum("InputTokens"), 0) AS in_t, coalesce(sum("OutputTokens"), 0) AS out_t,
           quantileExactInclusive(0.95)("DurationMs") AS w_p95
    FROM crewscope_task_rows
    WHERE "Timestamp" BETWEEN $start AND $end AND "AgentName" IS NOT NULL
    GROUP BY name
),
calls AS (
    SELECT "AgentName" AS name, "Operation" AS op, "Model" AS model,
           "ProviderName" AS provider, "PricedCalls" AS priced, "InputTokens" AS i,
           "OutputTokens" AS o, "CacheRead" AS cr, "CacheWrite" AS cw
    FROM crewscope_llm_hourly_sums
    WHERE "Hour" >= $h_from AND "Hour" < $h_to AND "AgentName" <> ''
    UNION ALL
    SELECT "AgentName", "Operation", coalesce("Model", ''), coalesce("ProviderName", ''),
           toUInt64(crewscope_priced("Operation", "Model", "InputTokens", "OutputTokens")),
           coalesce("InputTokens", 0), coalesce("OutputTokens", 0), coalesce("CacheRead", 0),
           coalesce("CacheWrite", 0)
    FROM crewscope_llm_call_rows
    WHERE (("Timestamp" >= $start AND "Timestamp" < $h_from)
           OR ("Timestamp" >= $h_to AND "Timestamp" <= $end))
      AND "AgentName" IS NOT NULL
),
cost AS (
    SELECT name, sum(c) AS w_cost
    FROM (
        SELECT name, crewscope_sums_cost(currentDatabase() || '.crewscope_prices_dict', op, model,
                                         provider, sum(priced), sum(i), sum(o), sum(cr),
                                         sum(cw)) AS c
        FROM calls
        GROUP BY name, op, model, provider
    )
    GROUP BY name
),
latest AS (
    -- the execution of each agent that started at last_ts
    SELECT "AgentName" AS name, min(tuple("CrewName", "ServiceName")) AS span
    FROM crewscope_task_rows
    WHERE "Timestamp" IN (SELECT last_ts FROM last)
      AND ("AgentName", "Timestamp") IN (SELECT name, last_ts FROM last)
    GROUP BY name
)
SELECT
    last.name AS agent,
    coalesce(w.wn, 0) AS total_executions,
    coalesce(w.wok, 0) AS successful_executions,
    coalesce(w.wn - w.wok, 0) AS failed_executions,
    100.0 * w.wok / nullIf(w.wn, 0) AS success_rate,
    w.w_avg_ms AS avg_ms,
    w.w_p95 AS p95_ms,
    coalesce(w.in_t, 0) AS input_tokens,
    coalesce(w.out_t, 0) AS output_tokens,
    cost.w_cost AS cost_usd,
    last.last_ts AS last_execution,
    tupleElement(latest.span, 1) AS crew,
    tupleElement(latest.span, 2) AS service
FROM last
LEFT JOIN w ON w.name = last.name
LEFT JOIN cost ON cost.name = last.name
LEFT JOIN latest ON latest.name = last.name
ORDER BY total_executions DESC, agent
