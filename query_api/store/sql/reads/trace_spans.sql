-- Every span of one trace inside a time window (the window lets DuckDB skip row groups).
SELECT
    "SpanId", "ParentSpanId", "SpanName", "SpanKind", "GenAiOperation", "StatusCode",
    "StatusMessage", "ErrorType", "Timestamp", "Duration", "AgentName", "TaskName",
    "ToolName", "Model", "ProviderName", "InputTokens", "OutputTokens", "CostUsd",
    "SpanAttributes", "Events"
FROM otel_traces
WHERE "TraceId" = $trace_id
  AND "Timestamp" BETWEEN $lo AND $hi
ORDER BY "Timestamp", "SpanId"
