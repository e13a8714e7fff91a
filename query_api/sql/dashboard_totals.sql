-- Totals for the last 24h / 7d / 30d before $now: runs and tokens (crew spans started in the
-- period), task executions, and the cost of the LLM calls made in the period. One pass over
-- each projection with per-period FILTERs (no join: joining every run of 30 days to its
-- trace totals cost ~60 ms at 10M spans).
WITH periods(period, ord, start) AS (
    VALUES ('24h', 1, $now - INTERVAL 1 DAY), ('7d', 2, $now - INTERVAL 7 DAY),
           ('30d', 3, $now - INTERVAL 30 DAY)
),
r AS (
    SELECT
        count(*) FILTER (WHERE "Timestamp" >= $now - INTERVAL 1 DAY) AS runs_1,
        count(*) FILTER (WHERE "Timestamp" >= $now - INTERVAL 7 DAY) AS runs_2,
        count(*) AS runs_3,
        count(*) FILTER (WHERE "Failed" AND "Timestamp" >= $now - INTERVAL 1 DAY) AS failed_1,
        count(*) FILTER (WHERE "Failed" AND "Timestamp" >= $now - INTERVAL 7 DAY) AS failed_2,
        count(*) FILTER (WHERE "Failed") AS failed_3,
        coalesce(sum("InputTokens") FILTER (WHERE "Timestamp" >= $now - INTERVAL 1 DAY), 0) AS in_1,
        coalesce(sum("InputTokens") FILTER (WHERE "Timestamp" >= $now - INTERVAL 7 DAY), 0) AS in_2,
        coalesce(sum("InputTokens"), 0) AS in_3,
        coalesce(sum("OutputTokens") FILTER (WHERE "Timestamp" >= $now - INTERVAL 1 DAY), 0) AS out_1,
        coalesce(sum("OutputTokens") FILTER (WHERE "Timestamp" >= $now - INTERVAL 7 DAY), 0) AS out_2,
        coalesce(sum("OutputTokens"), 0) AS out_3
    FROM crewscope_runs
    WHERE NOT "IsFlow" AND "Timestamp" BETWEEN $now - INTERVAL 30 DAY AND $now
),
e AS (
    SELECT
        count(*) FILTER (WHERE "Timestamp" >= $now - INTERVAL 1 DAY) AS n_1,
        count(*) FILTER (WHERE "Timestamp" >= $now - INTERVAL 7 DAY) AS n_2,
        count(*) AS n_3,
        count(*) FILTER (WHERE "Failed" AND "Timestamp" >= $now - INTERVAL 1 DAY) AS f_1,
        count(*) FILTER (WHERE "Failed" AND "Timestamp" >= $now - INTERVAL 7 DAY) AS f_2,
        count(*) FILTER (WHERE "Failed") AS f_3,
        avg("DurationMs") FILTER (WHERE "Timestamp" >= $now - INTERVAL 1 DAY) AS ms_1,
        avg("DurationMs") FILTER (WHERE "Timestamp" >= $now - INTERVAL 7 DAY) AS ms_2,
        avg("DurationMs") AS ms_3
    FROM crewscope_tasks
    WHERE "Timestamp" BETWEEN $now - INTERVAL 30 DAY AND $now
),
c AS (
    SELECT
        sum("CostUsd") FILTER (WHERE "Timestamp" >= $now - INTERVAL 1 DAY) AS cost_1,
        sum("CostUsd") FILTER (WHERE "Timestamp" >= $now - INTERVAL 7 DAY) AS cost_2,
        sum("CostUsd") AS cost_3
    FROM crewscope_llm_calls
    WHERE "Timestamp" BETWEEN $now - INTERVAL 30 DAY AND $now
),
t AS (
    SELECT
        period, ord,
        [runs_1, runs_2, runs_3][ord] AS runs,
        [failed_1, failed_2, failed_3][ord] AS failed_runs,
        [n_1, n_2, n_3][ord] AS executions,
        [f_1, f_2, f_3][ord] AS failed_executions,
        [ms_1, ms_2, ms_3][ord] AS avg_execution_ms,
        [in_1, in_2, in_3][ord] AS input_tokens,
        [out_1, out_2, out_3][ord] AS output_tokens,
        [cost_1, cost_2, cost_3][ord] AS cost_usd
    FROM periods, r, e, c
)
SELECT
    period, runs, failed_runs, executions,
    executions - failed_executions AS successful_executions, failed_executions,
    100.0 * (executions - failed_executions) / nullif(executions, 0) AS success_rate,
    avg_execution_ms, input_tokens, output_tokens, cost_usd
FROM t
ORDER BY ord
