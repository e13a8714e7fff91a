-- ClickHouse text of store/sql/reads/tool_usage.sql (DuckDB's quantile_cont is
-- quantileExactInclusive).
SELECT
    "ToolName" AS tool,
    count(*) AS calls,
    count(*) FILTER (WHERE "Failed") AS errors,
    100.0 * count(*) FILTER (WHERE "Failed") / count(*) AS error_rate,
    avg("Duration") / 1e6 AS avg_ms,
    quantileExactInclusive(0.5)("Duration") / 1e6 AS p50_ms,
    quantileExactInclusive(0.95)("Duration") / 1e6 AS p95_ms,
    max("Duration") / 1e6 AS max_ms,
    count(DISTINCT "AgentName") AS agents
FROM crewscope_tool_calls
WHERE "Timestamp" BETWEEN $start AND $end
  AND ($agent IS NULL OR "AgentName" = $agent)
GROUP BY tool
ORDER BY calls DESC, tool
