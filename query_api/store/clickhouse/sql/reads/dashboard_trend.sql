-- ClickHouse text of store/sql/reads/dashboard_trend.sql: task executions per UTC day since
-- $since (a midnight), from the hourly sums of task executions (schema_rollups.sql).
SELECT
    toDate("Hour", 'UTC') AS day,
    sum("Executions") AS executions,
    sum("Executions" - "Failed") AS successful,
    sum("Failed") AS failed,
    100.0 * sum("Executions" - "Failed") / sum("Executions") AS success_rate,
    sum("SumMs") / sum("Executions") AS avg_ms
FROM crewscope_agent_hourly_sums
WHERE "Hour" >= $since
GROUP BY day
HAVING sum("Executions") > 0
ORDER BY day
