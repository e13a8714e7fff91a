-- Memory operations (spans named "memory {op}") per agent in [$start, $end].
WITH m AS (
    SELECT
        "AgentName", "Timestamp", "Duration", "StatusCode",
        coalesce("SpanAttributes"['crewai.memory.operation'], split_part("SpanName", ' ', 2)) AS op
    FROM otel_traces
    WHERE "Timestamp" BETWEEN $start AND $end
      AND starts_with("SpanName", 'memory ')
      AND "AgentName" IS NOT NULL
      AND ($agent IS NULL OR "AgentName" = $agent)
)
SELECT
    "AgentName" AS agent,
    count(*) FILTER (WHERE op = 'save') AS memories_stored_count,
    count(*) FILTER (WHERE op IN ('query', 'search', 'recall')) AS memories_recalled_count,
    count(*) FILTER (WHERE op NOT IN ('save', 'query', 'search', 'recall')) AS other_operations,
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS errors,
    avg("Duration") / 1e6 AS avg_ms,
    max("Timestamp") AS last_activity_timestamp
FROM m
GROUP BY ALL
ORDER BY agent
