-- Copy the task-execution spans (invoke_agent) with rowid in [$lo, $hi] into crewscope_tasks.
INSERT INTO crewscope_tasks
SELECT
    "TraceId",
    "SpanId",
    "ParentSpanId",
    coalesce(nullif("SpanAttributes"['crewscope.run.id'], ''), "ParentSpanId"),
    coalesce(
        nullif("SpanAttributes"['crewscope.run.root_id'], ''),
        nullif("SpanAttributes"['crewscope.run.id'], ''),
        "ParentSpanId"
    ),
    "Timestamp",
    "Timestamp" + to_microseconds("Duration" // 1000),
    "Duration" / 1e6,
    "CrewName",
    "AgentName",
    "TaskName",
    "StatusCode" = 'Error',
    "StatusMessage",
    "ErrorType",
    "InputTokens",
    "OutputTokens",
    TRY_CAST("SpanAttributes"['crewscope.llm.calls'] AS BIGINT),
    TRY_CAST("SpanAttributes"['crewscope.tool.calls'] AS BIGINT),
    left("SpanAttributes"['crewscope.output.preview'], 1000)
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND "GenAiOperation" = 'invoke_agent'
