-- ClickHouse text of store/sql/reads/task_list.sql.
SELECT
    "TraceId", "SpanId", "RunId", "RootRunId", "Timestamp", "EndTime", "DurationMs",
    "CrewName", "AgentName",
    "TaskName", "Failed", "StatusMessage", "ErrorType", "InputTokens", "OutputTokens",
    "LlmCalls", "ToolCalls", "OutputPreview"
FROM crewscope_tasks
{{where}}
ORDER BY "Timestamp" DESC, "SpanId"
LIMIT $limit OFFSET $offset
