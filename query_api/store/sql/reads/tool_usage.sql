-- Tool calls per tool in [$start, $end] (optionally for one agent).
SELECT
    "ToolName" AS tool,
    count(*) AS calls,
    count(*) FILTER (WHERE "Failed") AS errors,
    100.0 * count(*) FILTER (WHERE "Failed") / count(*) AS error_rate,
    avg("Duration") / 1e6 AS avg_ms,
    crewscope_p50_p95("Duration")[1] / 1e6 AS p50_ms,
    crewscope_p50_p95("Duration")[2] / 1e6 AS p95_ms,
    max("Duration") / 1e6 AS max_ms,
    count(DISTINCT "AgentName") AS agents
FROM crewscope_tool_calls
WHERE "Timestamp" BETWEEN $start AND $end
  AND ($agent IS NULL OR "AgentName" = $agent)
GROUP BY ALL
ORDER BY calls DESC, tool
