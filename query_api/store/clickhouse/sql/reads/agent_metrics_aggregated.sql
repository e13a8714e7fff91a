-- ClickHouse text of store/sql/reads/agent_metrics_aggregated.sql: one agent's daily sums for
-- days [$day_from, $day_to] (schema_rollups.sql, kept by materialized views), read once per
-- table: counts, durations and tokens per day (the trend's halves at day resolution),
-- percentiles over every duration of those days, merged from the exact quantile states, and
-- the cost of the agent's LLM calls of those days, priced per model. ClickHouse inlines a CTE
-- at each use: what the answer reads twice is a scalar (llm, computed once).
WITH (
    SELECT tuple(max(u), sum(c))
    FROM (
        SELECT max("Updated") AS u,
               crewscope_sums_cost(currentDatabase() || '.crewscope_prices_dict', "Operation",
                                   "Model", "ProviderName", sum("PricedCalls"),
                                   sum("InputTokens"), sum("OutputTokens"), sum("CacheRead"),
                                   sum("CacheWrite")) AS c
        FROM crewscope_llm_daily_sums
        WHERE "AgentName" = $agent AND "Day" BETWEEN $day_from AND $day_to
        GROUP BY "Operation", "Model", "ProviderName"
    )
) AS llm,
days AS (
    SELECT
        "Day" AS day, sum("Executions") AS n, sum("Executions") - sum("Failed") AS ok,
        sum("SumMs") AS ms, min("MinMs") AS lo, max("MaxMs") AS hi,
        sum("InputTokens") AS in_t, sum("OutputTokens") AS out_t, max("Updated") AS updated,
        quantilesExactInclusiveMergeState(0.5, 0.95, 0.99)("Durations") AS durations
    FROM crewscope_agent_daily_sums
    WHERE "AgentName" = $agent AND "Day" BETWEEN $day_from AND $day_to
    GROUP BY day
),
agent AS (
    SELECT
        count() AS rows, sum(n) AS total, sum(ok) AS good, sum(ms) AS sum_ms, min(lo) AS min_ms,
        max(hi) AS max_ms, sum(in_t) AS in_t, sum(out_t) AS out_t, max(updated) AS updated,
        quantilesExactInclusiveMerge(0.5, 0.95, 0.99)(durations) AS q,
        -- per day, in day order: executions and successful ones
        arraySort(groupArray(tuple(day, n, ok))) AS per_day
    FROM days
),
halves AS (
    -- a day goes to the older half if fewer than half of the window's executions came
    -- before it
    SELECT *, arrayMap(d -> coalesce(d.2, 0), per_day) AS bn,
           arrayMap(d -> coalesce(d.3, 0), per_day) AS bok,
           arrayMap(e -> e < total / 2, arrayCumSum(bn) - bn) AS older
    FROM agent
)
SELECT
    coalesce(total, 0) AS n,
    coalesce(good, 0) AS ok,
    sum_ms,
    CAST(min_ms, 'Nullable(Float64)') AS min_ms,
    CAST(max_ms, 'Nullable(Float64)') AS max_ms,
    if(rows = 0, NULL, q) AS q,
    coalesce(in_t, 0) AS input_tokens,
    coalesce(out_t, 0) AS output_tokens,
    llm.2 AS cost_usd,
    if(updated IS NULL, llm.1, if(llm.1 IS NULL, updated, greatest(updated, llm.1)))
        AS refreshed_at,
    arraySum(arrayFilter((k, old) -> old, bok, older))
        / nullIf(arraySum(arrayFilter((k, old) -> old, bn, older)), 0) AS first_rate,
    arraySum(arrayFilter((k, old) -> NOT old, bok, older))
        / nullIf(arraySum(arrayFilter((k, old) -> NOT old, bn, older)), 0) AS second_rate
FROM halves
