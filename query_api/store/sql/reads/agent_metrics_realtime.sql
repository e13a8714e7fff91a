-- One agent's task executions in [$start, $end]: counts, durations, tokens and cost from
-- the hourly sums of the whole hours [$h_from, $h_to) plus the raw edge rows
-- (query_api/windows.py); percentiles from the executions themselves.
WITH parts AS (
    SELECT
        "Hour" AS bucket, "Executions" AS n, "Executions" - "Failed" AS ok, "SumMs" AS ms,
        "MinMs" AS min_ms, "MaxMs" AS max_ms, "InputTokens" AS in_t, "OutputTokens" AS out_t,
        "CostUsd" AS cost
    FROM crewscope_agent_hourly
    WHERE "AgentName" = $agent AND "Hour" >= $h_from AND "Hour" < $h_to
    UNION ALL
    SELECT
        date_trunc('hour', "Timestamp"), 1, CASE WHEN "Failed" THEN 0 ELSE 1 END,
        "DurationMs", "DurationMs", "DurationMs", coalesce("InputTokens", 0),
        coalesce("OutputTokens", 0), NULL
    FROM crewscope_tasks
    WHERE "AgentName" = $agent
      AND (("Timestamp" >= $start AND "Timestamp" < $h_from)
           OR ("Timestamp" >= $h_to AND "Timestamp" <= $end))
    UNION ALL
    SELECT date_trunc('hour', "Timestamp"), 0, 0, 0, NULL, NULL, 0, 0, "CostUsd"
    FROM crewscope_llm_calls
    WHERE "AgentName" = $agent
      AND (("Timestamp" >= $start AND "Timestamp" < $h_from)
           OR ("Timestamp" >= $h_to AND "Timestamp" <= $end))
),
-- The trend: success rate of the older half of the executions vs the newer half, at
-- hour resolution (an hour goes to the older half if fewer than half of the window's
-- executions came before it; the aggregated metrics do the same per day)
buckets AS (
    SELECT bucket, sum(n) AS n, sum(ok) AS ok FROM parts GROUP BY bucket HAVING sum(n) > 0
),
halves AS (
    SELECT n, ok,
        sum(n) OVER (ORDER BY bucket ROWS UNBOUNDED PRECEDING) - n AS before,
        sum(n) OVER () AS total
    FROM buckets
)
SELECT
    coalesce(sum(n), 0) AS n,
    coalesce(sum(ok), 0) AS ok,
    sum(ms) AS sum_ms,
    min(min_ms) AS min_ms,
    max(max_ms) AS max_ms,
    (SELECT quantile_cont("DurationMs", [0.5, 0.95, 0.99]) FROM crewscope_tasks
     WHERE "AgentName" = $agent AND "Timestamp" BETWEEN $start AND $end) AS q,
    coalesce(sum(in_t), 0) AS input_tokens,
    coalesce(sum(out_t), 0) AS output_tokens,
    sum(cost) AS cost_usd,
    (SELECT sum(ok) / sum(n) FROM halves WHERE before < total / 2) AS first_rate,
    (SELECT sum(ok) / sum(n) FROM halves WHERE before >= total / 2) AS second_rate
FROM parts
