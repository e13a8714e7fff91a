-- Every span of one trace inside a time window (the window lets DuckDB skip row groups).
-- $synced_only: only the spans the projections have copied (rowid below the watermark the
-- projection sync writes with them), so a run detail read in one transaction shows the
-- spans its totals (crewscope_run_totals) count, not spans that arrived since.
SELECT
    "SpanId", "ParentSpanId", "SpanName", "SpanKind", "GenAiOperation", "StatusCode",
    "StatusMessage", "ErrorType", "Timestamp", "Duration", "AgentName", "TaskName",
    "ToolName", "Model", "ProviderName", "InputTokens", "OutputTokens", "CostUsd",
    "SpanAttributes", "Events"
FROM otel_traces
WHERE "TraceId" = $trace_id
  AND "Timestamp" BETWEEN $lo AND $hi
  AND (NOT $synced_only OR rowid < coalesce((
      SELECT max("Value")::BIGINT FROM crewscope_meta WHERE "Key" = 'projection_next_rowid'
  ), 0))
ORDER BY "Timestamp", "SpanId"
