-- Copy the tool-call spans with rowid in [$lo, $hi] into crewscope_tool_calls.
INSERT INTO crewscope_tool_calls
SELECT "Timestamp", "AgentName", "ToolName", "StatusCode" = 'Error', "Duration", "TraceId", "SpanId"
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND "GenAiOperation" = 'execute_tool'
