-- ClickHouse text of store/sql/reads/agent_metrics_aggregated.sql: one agent's daily rollup
-- rows for days [$day_from, $day_to] (the views of schema_rollups.sql, kept by materialized
-- views); percentiles over every duration of those days, merged from the exact quantile
-- states of the daily sums.
WITH r AS (
    SELECT * FROM crewscope_rollup_agent_daily
    WHERE "AgentName" = $agent AND "Day" BETWEEN $day_from AND $day_to
),
halves AS (
    -- trend at day resolution: a day goes to the older half if fewer than half of the
    -- window's executions came before it
    SELECT
        "Executions", "Successful",
        sum("Executions") OVER (ORDER BY "Day" ROWS UNBOUNDED PRECEDING) - "Executions" AS before,
        sum("Executions") OVER () AS total
    FROM r
)
SELECT
    coalesce(sum("Executions"), 0) AS n,
    coalesce(sum("Successful"), 0) AS ok,
    sum("SumMs") AS sum_ms,
    min("MinMs") AS min_ms,
    max("MaxMs") AS max_ms,
    (SELECT if(count() = 0, NULL, quantilesExactInclusiveMerge(0.5, 0.95, 0.99)("Durations"))
     FROM crewscope_agent_daily_sums
     WHERE "AgentName" = $agent AND "Day" BETWEEN $day_from AND $day_to)
        AS q,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens,
    sum("CostUsd") AS cost_usd,
    max("RefreshedAt") AS refreshed_at,
    (SELECT sum("Successful") / nullIf(sum("Executions"), 0) FROM halves WHERE before < total / 2)
        AS first_rate,
    (SELECT sum("Successful") / nullIf(sum("Executions"), 0) FROM halves WHERE before >= total / 2)
        AS second_rate
FROM r
