-- One page of task executions, newest first; the where slot is built from a fixed set of conditions.
SELECT
    "TraceId", "SpanId", "RunId", "RootRunId", "Timestamp", "EndTime", "DurationMs",
    "CrewName", "AgentName",
    "TaskName", "Failed", "StatusMessage", "ErrorType", "InputTokens", "OutputTokens",
    "LlmCalls", "ToolCalls", "OutputPreview"
FROM crewscope_tasks
{{where}}
ORDER BY "Timestamp" DESC, "SpanId"
LIMIT $limit OFFSET $offset
