-- ClickHouse text of store/sql/reads/dashboard_trend.sql: task executions per UTC day since
-- $since from the executions' hourly sums themselves (crewscope_agent_hourly, the view of
-- DuckDB's table of that name, also prices every hour's LLM calls, which the trend does
-- not show).
SELECT
    toDate("Hour") AS day,
    toInt64(sum("Executions")) AS executions,
    toInt64(sum("Executions") - sum("Failed")) AS successful,
    toInt64(sum("Failed")) AS failed,
    100.0 * (sum("Executions") - sum("Failed")) / sum("Executions") AS success_rate,
    sum("SumMs") / sum("Executions") AS avg_ms
FROM crewscope_agent_hourly_sums
WHERE "Hour" >= $since
GROUP BY day
HAVING sum("Executions") > 0
ORDER BY day
