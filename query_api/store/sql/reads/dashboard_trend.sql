-- Task executions per UTC day since $since (a midnight), from the hourly sums (every hour
-- since $since is whole or still running, so no raw edge is needed).
SELECT
    CAST("Hour" AS DATE) AS day,
    sum("Executions") AS executions,
    sum("Executions" - "Failed") AS successful,
    sum("Failed") AS failed,
    100.0 * sum("Executions" - "Failed") / sum("Executions") AS success_rate,
    sum("SumMs") / sum("Executions") AS avg_ms
FROM crewscope_agent_hourly
WHERE "Hour" >= $since
GROUP BY ALL
HAVING sum("Executions") > 0
ORDER BY day
