-- Live feed: spans of interest appended with rowid in [$lo, $hi], in append order.
SELECT
    rowid AS rid,
    epoch_ns("Timestamp") AS start_ns,
    "Duration" AS duration_ns,
    "TraceId", "SpanId", "ParentSpanId", "SpanName", "ServiceName", "StatusCode",
    "StatusMessage", "GenAiOperation", "CrewName", "TaskName", "AgentName", "ToolName",
    "Model", "ProviderName", "InputTokens", "OutputTokens", "CostUsd", "ErrorType",
    "SpanAttributes"['crewai.step.index'] AS step_index,
    "SpanAttributes"['crewai.step.type'] AS step_type,
    "SpanAttributes"['crewai.memory.operation'] AS memory_operation,
    "SpanAttributes"['crewai.flow.name'] AS flow,
    nullif("SpanAttributes"['crewscope.run.id'], '') AS run_id,
    nullif("SpanAttributes"['crewscope.run.root_id'], '') AS root_run_id
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND ("GenAiOperation" IS NOT NULL OR "SpanName" LIKE 'step %' OR "SpanName" LIKE 'memory %')
ORDER BY rowid
