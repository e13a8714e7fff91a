-- The flow graph recorded on a flow run span (crewscope.flow.graph, SPANS.md), found by its
-- trace, id and start time (which lets DuckDB skip row groups; $start is the stored start cut
-- to microseconds).
SELECT "SpanAttributes"['crewscope.flow.graph']
FROM otel_traces
WHERE "TraceId" = $trace_id
  AND "SpanId" = $run_id
  AND "Timestamp" >= $start
  AND "Timestamp" < $start + INTERVAL 1 MICROSECOND
