-- Prometheus /metrics: task executions per agent over all stored invoke_agent spans, with the
-- duration histogram as counts per bucket index (number of bounds below the duration).
SELECT
    "AgentName" AS agent,
    "StatusCode" = 'Error' AS failed,
    coalesce("ErrorType", '') AS error_type,
    len(list_filter($bounds, lambda b: b < "Duration" / 1e9)) AS bucket,
    count(*) AS n,
    sum("Duration") / 1e9 AS seconds
FROM otel_traces
WHERE "GenAiOperation" = 'invoke_agent' AND "AgentName" IS NOT NULL
GROUP BY ALL
