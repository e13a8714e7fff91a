-- ClickHouse text of store/sql/reads/flow_methods.sql (DuckDB's quantile_cont is
-- quantileExactInclusive; a missing attribute reads NULL through crewscope_attr).
SELECT
    coalesce(crewscope_attr("SpanAttributes", 'crewai.flow.name'), '') AS flow,
    crewscope_attr("SpanAttributes", 'crewai.flow.method') AS method,
    count(*) AS executions,
    countIf("StatusCode" = 'Error') AS failed,
    avg("Duration") / 1e6 AS avg_ms,
    quantileExactInclusive(0.95)("Duration" / 1e6) AS p95_ms
FROM crewscope_spans
WHERE "Timestamp" BETWEEN $start AND $end
  AND startsWith("SpanName", 'flow_method ')
  AND crewscope_attr("SpanAttributes", 'crewai.flow.method') IS NOT NULL
  AND ($flow IS NULL OR crewscope_attr("SpanAttributes", 'crewai.flow.name') = $flow)
GROUP BY flow, method
ORDER BY flow, min("Timestamp")
