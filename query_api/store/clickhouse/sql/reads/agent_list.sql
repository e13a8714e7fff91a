-- ClickHouse text of store/sql/reads/agent_list.sql. ClickHouse has no hourly sums or
-- rollups yet, so the raw rows of the whole window [$start, $end] are aggregated ($h_from,
-- $h_to unused): the same answer; known agents are those with a task execution.
WITH known AS (
    SELECT DISTINCT "AgentName" AS name FROM crewscope_tasks WHERE "AgentName" <> ''
),
w AS (
    SELECT "AgentName" AS name, count(*) AS wn, count(*) FILTER (WHERE NOT "Failed") AS wok,
           sum("DurationMs") / nullIf(count(*), 0) AS w_avg_ms,
           coalesce(sum("InputTokens"), 0) AS in_t, coalesce(sum("OutputTokens"), 0) AS out_t,
           quantileExactInclusive(0.95)("DurationMs") AS w_p95
    FROM crewscope_tasks
    WHERE "Timestamp" BETWEEN $start AND $end AND "AgentName" IS NOT NULL
    GROUP BY name
),
cost AS (
    SELECT "AgentName" AS name, sum("CostUsd") AS w_cost
    FROM crewscope_llm_calls
    WHERE "Timestamp" BETWEEN $start AND $end AND "AgentName" IS NOT NULL
    GROUP BY name
),
last AS (
    SELECT "AgentName" AS name, max("Timestamp") AS last_ts
    FROM crewscope_tasks WHERE "AgentName" IS NOT NULL GROUP BY name
),
latest AS (
    -- the span of each agent's latest execution (started at last_ts)
    SELECT last.name AS name, min(tuple(t."CrewName", t."ServiceName")) AS span
    FROM last
    JOIN crewscope_spans AS t ON t."AgentName" = last.name AND t."Timestamp" = last.last_ts
    WHERE t."GenAiOperation" = 'invoke_agent'
    GROUP BY name
)
SELECT
    known.name AS agent,
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
FROM known
LEFT JOIN w ON w.name = known.name
LEFT JOIN cost ON cost.name = known.name
LEFT JOIN last ON last.name = known.name
LEFT JOIN latest ON latest.name = known.name
ORDER BY total_executions DESC, agent
