-- Totals for the last 24h / 7d / 30d before $now (runs, task executions, tokens, cost).
WITH periods(period, start) AS (
    VALUES ('24h', $now - INTERVAL 1 DAY), ('7d', $now - INTERVAL 7 DAY),
           ('30d', $now - INTERVAL 30 DAY)
),
r AS (
    SELECT r."Timestamp", r."Failed", r."InputTokens", r."OutputTokens", t."CostUsd"
    FROM crewscope_runs r LEFT JOIN crewscope_trace_totals t USING ("TraceId")
    WHERE NOT r."IsFlow" AND r."Timestamp" BETWEEN $now - INTERVAL 30 DAY AND $now
),
e AS (
    SELECT "Timestamp", "Failed", "DurationMs"
    FROM crewscope_tasks
    WHERE "Timestamp" BETWEEN $now - INTERVAL 30 DAY AND $now
),
rt AS (
    SELECT
        period,
        count(r."Timestamp") AS runs,
        count(r."Timestamp") FILTER (WHERE r."Failed") AS failed_runs,
        coalesce(sum(r."InputTokens"), 0) AS input_tokens,
        coalesce(sum(r."OutputTokens"), 0) AS output_tokens,
        sum(r."CostUsd") AS cost_usd
    FROM periods LEFT JOIN r ON r."Timestamp" >= periods.start
    GROUP BY period
),
et AS (
    SELECT
        period,
        count(e."Timestamp") AS executions,
        count(e."Timestamp") FILTER (WHERE NOT e."Failed") AS successful_executions,
        count(e."Timestamp") FILTER (WHERE e."Failed") AS failed_executions,
        avg(e."DurationMs") AS avg_execution_ms
    FROM periods LEFT JOIN e ON e."Timestamp" >= periods.start
    GROUP BY period
)
SELECT
    period, runs, failed_runs, executions, successful_executions, failed_executions,
    100.0 * successful_executions / nullif(executions, 0) AS success_rate,
    avg_execution_ms, input_tokens, output_tokens, cost_usd
FROM rt JOIN et USING (period)
ORDER BY CASE period WHEN '24h' THEN 1 WHEN '7d' THEN 2 ELSE 3 END
