-- ClickHouse text of store/sql/reads/memory_stats.sql.
SELECT
    "AgentName" AS agent,
    count(*) FILTER (WHERE "Operation" = 'save') AS memories_stored_count,
    count(*) FILTER (WHERE "Operation" IN ('query', 'search', 'recall')) AS memories_recalled_count,
    count(*) FILTER (WHERE "Operation" NOT IN ('save', 'query', 'search', 'recall'))
        AS other_operations,
    count(*) FILTER (WHERE "Failed") AS errors,
    avg("Duration") / 1e6 AS avg_ms,
    max("Timestamp") AS last_activity_timestamp
FROM crewscope_memory_ops
WHERE "Timestamp" BETWEEN $start AND $end
  AND "AgentName" IS NOT NULL
  AND ($agent IS NULL OR "AgentName" = $agent)
GROUP BY agent
ORDER BY agent
