-- Executions of each method of one flow run: its flow_method spans (crewscope.run.id = the
-- flow run), within the run's trace and time window [$lo, $hi].
SELECT
    "SpanAttributes"['crewai.flow.method'] AS method,
    count(*) AS executions,
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS failed,
    avg("Duration") / 1e6 AS avg_ms
FROM otel_traces
WHERE "TraceId" = $trace_id
  AND "Timestamp" BETWEEN $lo AND $hi
  AND starts_with("SpanName", 'flow_method ')
  AND "SpanAttributes"['crewscope.run.id'] = $run_id
  AND "SpanAttributes"['crewai.flow.method'] IS NOT NULL
GROUP BY ALL
