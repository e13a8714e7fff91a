-- ClickHouse text of store/sql/reads/flow_run_methods.sql (a missing attribute reads NULL
-- through crewscope_attr).
SELECT
    crewscope_attr("SpanAttributes", 'crewai.flow.method') AS method,
    count(*) AS executions,
    countIf("StatusCode" = 'Error') AS failed,
    avg("Duration") / 1e6 AS avg_ms
FROM crewscope_spans
WHERE "TraceId" = $trace_id
  AND "Timestamp" BETWEEN $lo AND $hi
  AND startsWith("SpanName", 'flow_method ')
  AND crewscope_attr("SpanAttributes", 'crewscope.run.id') = $run_id
  AND crewscope_attr("SpanAttributes", 'crewai.flow.method') IS NOT NULL
GROUP BY method
