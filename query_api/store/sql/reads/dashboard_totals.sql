-- Totals for the last 24h / 7d / 30d before $now: runs and tokens (top-level runs started in
-- the period), task executions, and the cost of the LLM calls made in the period.
-- Period i = [$s<i>, $now] = raw rows of its start edge [$s<i>, $c<i>) + hourly sums of the
-- hours [$c<i>, $h_to) + raw rows of the common end edge [$h_to, $now]
-- (query_api/windows.py). The four edges are disjoint and under an hour each, so a 30-day
-- total reads ~720 hourly rows per agent and crew plus a few thousand raw rows.
WITH periods(period, ord, h_from) AS (
    VALUES ('24h', 1, $c1::TIMESTAMP), ('7d', 2, $c2::TIMESTAMP), ('30d', 3, $c3::TIMESTAMP)
),
edge_runs AS (  -- edge 0 = the end edge [$h_to, $now], 1-3 = the start edges
    SELECT 0 AS edge, "Failed", "InputTokens", "OutputTokens" FROM crewscope_runs
    WHERE "ParentRunId" IS NULL AND "Timestamp" >= $h_to AND "Timestamp" <= $now
    UNION ALL
    SELECT 1 AS edge, "Failed", "InputTokens", "OutputTokens" FROM crewscope_runs
    WHERE "ParentRunId" IS NULL AND "Timestamp" >= $s1 AND "Timestamp" < $c1
    UNION ALL
    SELECT 2 AS edge, "Failed", "InputTokens", "OutputTokens" FROM crewscope_runs
    WHERE "ParentRunId" IS NULL AND "Timestamp" >= $s2 AND "Timestamp" < $c2
    UNION ALL
    SELECT 3 AS edge, "Failed", "InputTokens", "OutputTokens" FROM crewscope_runs
    WHERE "ParentRunId" IS NULL AND "Timestamp" >= $s3 AND "Timestamp" < $c3
),
edge_tasks AS (
    SELECT 0 AS edge, "Failed", "DurationMs" FROM crewscope_tasks
    WHERE "Timestamp" >= $h_to AND "Timestamp" <= $now
    UNION ALL
    SELECT 1 AS edge, "Failed", "DurationMs" FROM crewscope_tasks
    WHERE "Timestamp" >= $s1 AND "Timestamp" < $c1
    UNION ALL
    SELECT 2 AS edge, "Failed", "DurationMs" FROM crewscope_tasks
    WHERE "Timestamp" >= $s2 AND "Timestamp" < $c2
    UNION ALL
    SELECT 3 AS edge, "Failed", "DurationMs" FROM crewscope_tasks
    WHERE "Timestamp" >= $s3 AND "Timestamp" < $c3
),
edge_llm AS (
    SELECT 0 AS edge, "CostUsd" FROM crewscope_llm_calls
    WHERE "Timestamp" >= $h_to AND "Timestamp" <= $now
    UNION ALL
    SELECT 1 AS edge, "CostUsd" FROM crewscope_llm_calls
    WHERE "Timestamp" >= $s1 AND "Timestamp" < $c1
    UNION ALL
    SELECT 2 AS edge, "CostUsd" FROM crewscope_llm_calls
    WHERE "Timestamp" >= $s2 AND "Timestamp" < $c2
    UNION ALL
    SELECT 3 AS edge, "CostUsd" FROM crewscope_llm_calls
    WHERE "Timestamp" >= $s3 AND "Timestamp" < $c3
),
edge_sums AS (
    SELECT edge, count(*) AS runs, count(*) FILTER (WHERE "Failed") AS failed_runs,
        sum("InputTokens") AS in_t, sum("OutputTokens") AS out_t,
        0 AS n, 0 AS f, 0.0 AS ms, NULL::DOUBLE AS cost
    FROM edge_runs GROUP BY edge
    UNION ALL
    SELECT edge, 0, 0, 0, 0, count(*), count(*) FILTER (WHERE "Failed"), sum("DurationMs"), NULL
    FROM edge_tasks GROUP BY edge
    UNION ALL
    SELECT edge, 0, 0, 0, 0, 0, 0, 0.0, sum("CostUsd") FROM edge_llm GROUP BY edge
),
parts AS (
    SELECT p.ord, s.runs, s.failed_runs, s.in_t, s.out_t, s.n, s.f, s.ms, s.cost
    FROM periods p JOIN edge_sums s ON s.edge = 0 OR s.edge = p.ord
    UNION ALL
    SELECT p.ord, sum(h."Runs"), sum(h."Failed"), sum(h."InputTokens"), sum(h."OutputTokens"),
        0, 0, 0.0, NULL
    FROM periods p JOIN crewscope_run_hourly h ON h."Hour" >= p.h_from AND h."Hour" < $h_to
    GROUP BY p.ord
    UNION ALL
    SELECT p.ord, 0, 0, 0, 0, sum(h."Executions"), sum(h."Failed"), sum(h."SumMs"),
        sum(h."CostUsd")
    FROM periods p JOIN crewscope_agent_hourly h ON h."Hour" >= p.h_from AND h."Hour" < $h_to
    GROUP BY p.ord
),
t AS (
    SELECT ord, coalesce(sum(runs), 0) AS runs, coalesce(sum(failed_runs), 0) AS failed_runs,
        coalesce(sum(in_t), 0) AS input_tokens, coalesce(sum(out_t), 0) AS output_tokens,
        coalesce(sum(n), 0) AS executions, coalesce(sum(f), 0) AS failed_executions,
        sum(ms) AS sum_ms, sum(cost) AS cost_usd
    FROM parts
    GROUP BY ord
)
SELECT
    period, coalesce(runs, 0) AS runs, coalesce(failed_runs, 0) AS failed_runs,
    coalesce(executions, 0) AS executions,
    coalesce(executions - failed_executions, 0) AS successful_executions,
    coalesce(failed_executions, 0) AS failed_executions,
    100.0 * (executions - failed_executions) / nullif(executions, 0) AS success_rate,
    sum_ms / nullif(executions, 0) AS avg_execution_ms,
    coalesce(input_tokens, 0) AS input_tokens, coalesce(output_tokens, 0) AS output_tokens,
    cost_usd
FROM periods LEFT JOIN t USING (ord)
ORDER BY ord
