-- ClickHouse text of store/sql/reads/trace_spans.sql: Events rebuilt from the exporter's
-- Nested arrays as named tuples, which come back as the dicts DuckDB's structs give.
SELECT
    "SpanId", "ParentSpanId", "SpanName", "SpanKind", "GenAiOperation", "StatusCode",
    "StatusMessage", "ErrorType", "Timestamp", "Duration", "AgentName", "TaskName",
    "ToolName", "Model", "ProviderName", "InputTokens", "OutputTokens", "CostUsd",
    "SpanAttributes",
    arrayMap((t, n, a) -> CAST(tuple(t, n, a),
                               'Tuple("Timestamp" DateTime64(9), "Name" String, "Attributes" Map(String, String))'),
             "EventTimes", "EventNames", "EventAttributes") AS "Events"
FROM crewscope_spans
WHERE "TraceId" = $trace_id
  AND "Timestamp" BETWEEN $lo AND $hi
ORDER BY "Timestamp", "SpanId"
