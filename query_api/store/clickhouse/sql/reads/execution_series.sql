-- ClickHouse text of store/sql/reads/execution_series.sql: task executions (the task
-- projection) per agent and time bucket of $width_s seconds (DuckDB's quantile_cont is
-- quantileExactInclusive).
SELECT
    "AgentName" AS agent,
    toStartOfInterval("Timestamp", toIntervalSecond($width_s), 'UTC') AS bucket,
    count(*) AS executions,
    countIf(NOT "Failed") AS successful,
    countIf("Failed") AS failed,
    100.0 * countIf(NOT "Failed") / count(*) AS success_rate,
    avg("DurationMs") AS avg_ms,
    quantileExactInclusive(0.5)("DurationMs") AS p50_ms,
    quantileExactInclusive(0.95)("DurationMs") AS p95_ms,
    quantileExactInclusive(0.99)("DurationMs") AS p99_ms,
    max("DurationMs") AS max_ms,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens
FROM crewscope_tasks
WHERE "Timestamp" BETWEEN $start AND $end
  AND ($agent IS NULL OR "AgentName" = $agent)
  AND ($crew IS NULL OR "CrewName" = $crew)
GROUP BY agent, bucket
ORDER BY agent NULLS FIRST, bucket
