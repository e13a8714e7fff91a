-- One agent's rollup rows for days [$day_from, $day_to]; percentiles over all kept durations.
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
    (SELECT quantile_cont(d, [0.5, 0.95, 0.99]) FROM (SELECT unnest("DurationsMs") AS d FROM r))
        AS q,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens,
    sum("CostUsd") AS cost_usd,
    max("RefreshedAt") AS refreshed_at,
    (SELECT sum("Successful") / sum("Executions") FROM halves WHERE before < total / 2)
        AS first_rate,
    (SELECT sum("Successful") / sum("Executions") FROM halves WHERE before >= total / 2)
        AS second_rate
FROM r
