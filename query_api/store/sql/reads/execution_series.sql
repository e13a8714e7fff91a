-- Task executions (invoke_agent spans) per agent and time bucket of $width_s seconds.
SELECT
    "AgentName" AS agent,
    time_bucket(to_seconds($width_s), "Timestamp"::TIMESTAMP) AS bucket,
    count(*) AS executions,
    count(*) FILTER (WHERE "StatusCode" <> 'Error') AS successful,
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS failed,
    100.0 * count(*) FILTER (WHERE "StatusCode" <> 'Error') / count(*) AS success_rate,
    avg("Duration") / 1e6 AS avg_ms,
    quantile_cont("Duration", 0.5) / 1e6 AS p50_ms,
    quantile_cont("Duration", 0.95) / 1e6 AS p95_ms,
    quantile_cont("Duration", 0.99) / 1e6 AS p99_ms,
    max("Duration") / 1e6 AS max_ms,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens
FROM otel_traces
WHERE "Timestamp" BETWEEN $start AND $end
  AND "GenAiOperation" = 'invoke_agent'
  AND ($agent IS NULL OR "AgentName" = $agent)
  AND ($crew IS NULL OR "CrewName" = $crew)
GROUP BY ALL
ORDER BY agent NULLS FIRST, bucket
