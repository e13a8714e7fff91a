-- Task executions per UTC day since $since.
SELECT
    "Timestamp"::DATE AS day,
    count(*) AS executions,
    count(*) FILTER (WHERE NOT "Failed") AS successful,
    count(*) FILTER (WHERE "Failed") AS failed,
    100.0 * count(*) FILTER (WHERE NOT "Failed") / count(*) AS success_rate,
    avg("DurationMs") AS avg_ms
FROM crewscope_tasks
WHERE "Timestamp" >= $since
GROUP BY ALL
ORDER BY day
