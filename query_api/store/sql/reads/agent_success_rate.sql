-- The agent_success_rate gauge: success rate per agent over task executions (invoke_agent) in [$start, $end].
SELECT
    "AgentName" AS agent,
    count(*) AS executions,
    count(*) FILTER (WHERE "StatusCode" <> 'Error') AS successful,
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS failed,
    count(*) FILTER (WHERE "StatusCode" <> 'Error') / count(*) AS success_ratio,
    max("Timestamp" + to_microseconds("Duration" // 1000)) AS last_execution
FROM otel_traces
WHERE "Timestamp" BETWEEN $start AND $end
  AND "GenAiOperation" = 'invoke_agent'
  AND "AgentName" IS NOT NULL
  AND ($crew IS NULL OR "CrewName" = $crew)
GROUP BY ALL
ORDER BY agent
