-- ClickHouse text of store/sql/reads/flow_graph.sql ($start is the stored start cut to
-- microseconds, as on DuckDB).
SELECT crewscope_attr("SpanAttributes", 'crewscope.flow.graph')
FROM crewscope_spans
WHERE "TraceId" = $trace_id
  AND "SpanId" = $run_id
  AND "Timestamp" >= $start
  AND "Timestamp" < $start + INTERVAL 1 MICROSECOND
