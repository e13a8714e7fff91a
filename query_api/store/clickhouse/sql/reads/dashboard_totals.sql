-- ClickHouse text of store/sql/reads/dashboard_totals.sql: period i = the raw rows of its
-- start edge [$s<i>, $c<i>) + the hourly sums (schema_rollups.sql, kept by materialized
-- views) of the hours [$c<i>, $h_to) + the raw rows of the common end edge [$h_to, $now].
-- Only the rows of the four edges (each under an hour) are read raw; LLM calls are priced
-- per period and model, once their tokens are summed.
WITH
periods AS (
    SELECT '24h' AS period, 1 AS ord UNION ALL SELECT '7d', 2 UNION ALL SELECT '30d', 3
),
parts AS (
    -- top-level runs and task executions, each counting for the periods of its edge (edge 0,
    -- the end edge, counts for every period)
    SELECT arrayJoin(if(edge = 0, [1, 2, 3], [edge])) AS ord, runs, failed_runs, in_t, out_t,
        n, f, ms, CAST(NULL, 'Nullable(Float64)') AS cost
    FROM (
        SELECT multiIf("Timestamp" >= $h_to AND "Timestamp" <= $now, 0,
                       "Timestamp" >= $s1 AND "Timestamp" < $c1, 1,
                       "Timestamp" >= $s2 AND "Timestamp" < $c2, 2,
                       "Timestamp" >= $s3 AND "Timestamp" < $c3, 3, -1) AS edge, *
        FROM (
            SELECT "Timestamp", 1 AS runs, toUInt8("Failed") AS failed_runs,
                coalesce("InputTokens", 0) AS in_t, coalesce("OutputTokens", 0) AS out_t,
                0 AS n, 0 AS f, CAST(NULL, 'Nullable(Float64)') AS ms
            FROM crewscope_run_rows
            WHERE "ParentRunId" IS NULL
            UNION ALL
            SELECT "Timestamp", 0, 0, 0, 0, 1, toUInt8("Failed"), "DurationMs"
            FROM crewscope_task_rows
        )
        WHERE "Timestamp" >= $h_to AND "Timestamp" <= $now
           OR "Timestamp" >= $s1 AND "Timestamp" < $c1
           OR "Timestamp" >= $s2 AND "Timestamp" < $c2
           OR "Timestamp" >= $s3 AND "Timestamp" < $c3
    )
    WHERE edge >= 0
    UNION ALL
    -- LLM calls: summed per model and the periods they count in, then per period, priced
    SELECT ord, 0, 0, 0, 0, 0, 0, NULL,
        crewscope_sums_cost(currentDatabase() || '.crewscope_prices_dict', op, model, provider,
                            sum(priced), sum(i), sum(o), sum(cr), sum(cw))
    FROM (
        SELECT arrayJoin(ords) AS ord, op, model, provider, priced, i, o, cr, cw
        FROM (
            SELECT ords, op, model, provider, sum(priced) AS priced, sum(i) AS i, sum(o) AS o,
                sum(cr) AS cr, sum(cw) AS cw
            FROM (
                SELECT multiIf("Timestamp" >= $h_to AND "Timestamp" <= $now, [1, 2, 3],
                               "Timestamp" >= $s1 AND "Timestamp" < $c1, [1],
                               "Timestamp" >= $s2 AND "Timestamp" < $c2, [2], [3]) AS ords,
                    "Operation" AS op, coalesce("Model", '') AS model,
                    coalesce("ProviderName", '') AS provider,
                    toUInt64(crewscope_priced("Operation", "Model", "InputTokens",
                                              "OutputTokens")) AS priced,
                    coalesce("InputTokens", 0) AS i, coalesce("OutputTokens", 0) AS o,
                    coalesce("CacheRead", 0) AS cr, coalesce("CacheWrite", 0) AS cw
                FROM crewscope_llm_call_rows
                WHERE ("Timestamp" >= $h_to AND "Timestamp" <= $now
                       OR "Timestamp" >= $s1 AND "Timestamp" < $c1
                       OR "Timestamp" >= $s2 AND "Timestamp" < $c2
                       OR "Timestamp" >= $s3 AND "Timestamp" < $c3)
                UNION ALL
                SELECT multiIf("Hour" >= $c1, [1, 2, 3], "Hour" >= $c2, [2, 3], [3]),
                    "Operation", "Model", "ProviderName", "PricedCalls", "InputTokens",
                    "OutputTokens", "CacheRead", "CacheWrite"
                FROM crewscope_llm_hourly_sums
                WHERE "Hour" >= $c3 AND "Hour" < $h_to
            )
            GROUP BY ords, op, model, provider
        )
    )
    GROUP BY ord, op, model, provider
    UNION ALL
    -- whole hours: a period's hours are [$c<i>, $h_to)
    SELECT arrayJoin(multiIf("Hour" >= $c1, [1, 2, 3], "Hour" >= $c2, [2, 3], [3])), "Runs", "Failed",
        "InputTokens", "OutputTokens", 0, 0, NULL, NULL
    FROM crewscope_run_hourly_sums
    WHERE "Hour" >= $c3 AND "Hour" < $h_to
    UNION ALL
    SELECT arrayJoin(multiIf("Hour" >= $c1, [1, 2, 3], "Hour" >= $c2, [2, 3], [3])), 0, 0, 0, 0,
        "Executions", "Failed", "SumMs", NULL
    FROM crewscope_agent_hourly_sums
    WHERE "Hour" >= $c3 AND "Hour" < $h_to
),
t AS (
    SELECT ord, sum(runs) AS runs, sum(failed_runs) AS failed_runs, sum(in_t) AS input_tokens,
        sum(out_t) AS output_tokens, sum(n) AS executions, sum(f) AS failed_executions,
        sum(ms) AS sum_ms, sum(cost) AS cost_usd
    FROM parts
    GROUP BY ord
)
SELECT
    periods.period AS period,
    toInt64(coalesce(t.runs, 0)) AS runs,
    toInt64(coalesce(t.failed_runs, 0)) AS failed_runs,
    toInt64(coalesce(t.executions, 0)) AS executions,
    toInt64(coalesce(t.executions - t.failed_executions, 0)) AS successful_executions,
    toInt64(coalesce(t.failed_executions, 0)) AS failed_executions,
    100.0 * (t.executions - t.failed_executions) / nullIf(t.executions, 0) AS success_rate,
    t.sum_ms / nullIf(t.executions, 0) AS avg_execution_ms,
    toInt64(coalesce(t.input_tokens, 0)) AS input_tokens,
    toInt64(coalesce(t.output_tokens, 0)) AS output_tokens,
    t.cost_usd AS cost_usd
FROM periods LEFT JOIN t ON t.ord = periods.ord
ORDER BY periods.ord
