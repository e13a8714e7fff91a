-- Executions of each flow method (flow_method spans) started in [$start, $end], per flow,
-- in order of first execution ($flow: one flow or NULL for all).
SELECT
    coalesce("SpanAttributes"['crewai.flow.name'], '') AS flow,
    "SpanAttributes"['crewai.flow.method'] AS method,
    count(*) AS executions,
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS failed,
    avg("Duration") / 1e6 AS avg_ms,
    quantile_cont("Duration" / 1e6, 0.95) AS p95_ms
FROM otel_traces
WHERE "Timestamp" BETWEEN $start AND $end
  AND starts_with("SpanName", 'flow_method ')
  AND "SpanAttributes"['crewai.flow.method'] IS NOT NULL
  AND ($flow IS NULL OR "SpanAttributes"['crewai.flow.name'] = $flow)
GROUP BY ALL
ORDER BY flow, min("Timestamp")
