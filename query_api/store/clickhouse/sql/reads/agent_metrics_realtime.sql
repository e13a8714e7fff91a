-- ClickHouse text of store/sql/reads/agent_metrics_realtime.sql. ClickHouse has no hourly
-- sums yet, so the raw rows of the whole window [$start, $end] are aggregated ($h_from,
-- $h_to unused): the same answer.
WITH parts AS (
    SELECT
        toStartOfHour("Timestamp") AS bucket, 1 AS n, if("Failed", 0, 1) AS ok,
        "DurationMs" AS ms, CAST("DurationMs", 'Nullable(Float64)') AS min_ms,
        CAST("DurationMs", 'Nullable(Float64)') AS max_ms, coalesce("InputTokens", 0) AS in_t,
        coalesce("OutputTokens", 0) AS out_t, CAST(NULL, 'Nullable(Float64)') AS cost
    FROM crewscope_tasks
    WHERE "AgentName" = $agent AND "Timestamp" BETWEEN $start AND $end
    UNION ALL
    SELECT
        toStartOfHour("Timestamp"), 0, 0, 0, NULL, NULL, 0, 0,
        CAST("CostUsd", 'Nullable(Float64)')
    FROM crewscope_llm_calls
    WHERE "AgentName" = $agent AND "Timestamp" BETWEEN $start AND $end
),
-- the trend: success rate of the older half of the executions vs the newer half, at hour
-- resolution (as the DuckDB text)
buckets AS (
    SELECT bucket, sum(n) AS bn, sum(ok) AS bok FROM parts GROUP BY bucket HAVING bn > 0
),
halves AS (
    SELECT bn, bok,
        sum(bn) OVER (ORDER BY bucket ROWS UNBOUNDED PRECEDING) - bn AS earlier,
        sum(bn) OVER () AS total
    FROM buckets
)
SELECT
    coalesce(sum(parts.n), 0) AS n,
    coalesce(sum(parts.ok), 0) AS ok,
    sum(ms) AS sum_ms,
    min(min_ms) AS min_ms,
    max(max_ms) AS max_ms,
    (SELECT quantilesExactInclusive(0.5, 0.95, 0.99)("DurationMs") FROM crewscope_tasks
     WHERE "AgentName" = $agent AND "Timestamp" BETWEEN $start AND $end) AS q,
    coalesce(sum(in_t), 0) AS input_tokens,
    coalesce(sum(out_t), 0) AS output_tokens,
    sum(cost) AS cost_usd,
    (SELECT sum(bok) / sum(bn) FROM halves WHERE earlier < total / 2) AS first_rate,
    (SELECT sum(bok) / sum(bn) FROM halves WHERE earlier >= total / 2) AS second_rate
FROM parts
