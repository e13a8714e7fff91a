-- ClickHouse text of store/sql/reads/export_tasks.sql: task executions, filtered by the
-- where slot.
SELECT "SpanId" AS task_id, "TraceId" AS run_id, "CrewName" AS crew,
    "AgentName" AS agent, "TaskName" AS task,
    if("Failed", 'failed', 'completed') AS status,
    "Timestamp" AS start_time, "EndTime" AS end_time, "DurationMs" AS duration_ms,
    "InputTokens" AS input_tokens, "OutputTokens" AS output_tokens,
    "LlmCalls" AS llm_calls, "ToolCalls" AS tool_calls, "ErrorType" AS error_type,
    left("StatusMessage", 200) AS error_preview
FROM crewscope_tasks {{where}} ORDER BY "Timestamp" DESC, "SpanId"
