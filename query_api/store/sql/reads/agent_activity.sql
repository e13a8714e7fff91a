-- The last $limit activity lines of agent $agent, newest first: its task starts and ends,
-- steps, tool calls and LLM calls (from its spans; ends at the span's end time) and its log
-- records at or above $min_severity. Only spans ending at or after $cutoff and starting at or
-- after $since are read (reads/agent_activity_window.sql finds both).
WITH spans AS (
    SELECT
        "Timestamp", "Duration", "SpanId", "SpanName", "GenAiOperation", "StatusCode",
        "StatusMessage", "ErrorType", "TaskName", "ToolName", "Model", "InputTokens",
        "OutputTokens",
        coalesce(nullif("SpanAttributes"['crewscope.run.id'], ''), "TraceId") AS run_id,
        nullif("SpanAttributes"['crewai.step.index'], '') AS step_index,
        nullif("SpanAttributes"['crewai.step.type'], '') AS step_type,
        crewscope_end("Timestamp", "Duration") AS end_time
    FROM crewscope_spans
    WHERE "AgentName" = $agent
      AND "Timestamp" >= $since  -- a constant: row groups before it are skipped
      AND ("GenAiOperation" IN ('invoke_agent', 'execute_tool')
           OR list_contains($llm_ops, "GenAiOperation")
           OR starts_with("SpanName", 'step '))
      AND crewscope_end("Timestamp", "Duration") >= $cutoff
),
lines AS (
    SELECT "Timestamp" AS time, 'task_started' AS kind, run_id, "SpanId" AS span_id,
        'unset' AS status, "TaskName" AS name, NULL AS input_tokens, NULL AS output_tokens,
        NULL AS detail, NULL AS error_type, NULL AS message, NULL AS severity
    FROM spans WHERE "GenAiOperation" = 'invoke_agent'
    UNION ALL
    SELECT end_time,
        CASE WHEN "StatusCode" = 'Error' THEN 'task_failed' ELSE 'task_finished' END,
        run_id, "SpanId", lower("StatusCode"), "TaskName", "InputTokens", "OutputTokens",
        NULL, "ErrorType", "StatusMessage", NULL
    FROM spans WHERE "GenAiOperation" = 'invoke_agent'
    UNION ALL
    SELECT "Timestamp", 'step', run_id, "SpanId", lower("StatusCode"), "TaskName", NULL, NULL,
        -- the index and the type, or the one there is
        coalesce(step_index || ' ' || step_type, step_index, step_type, ''),
        "ErrorType", "StatusMessage", NULL
    FROM spans WHERE starts_with("SpanName", 'step ') AND "GenAiOperation" IS NULL
    UNION ALL
    SELECT end_time, 'tool_call', run_id, "SpanId", lower("StatusCode"), "ToolName", NULL, NULL,
        NULL, "ErrorType", "StatusMessage", NULL
    FROM spans WHERE "GenAiOperation" = 'execute_tool'
    UNION ALL
    SELECT end_time, 'llm_call', run_id, "SpanId", lower("StatusCode"), "Model", "InputTokens",
        "OutputTokens", NULL, "ErrorType", "StatusMessage", NULL
    FROM spans WHERE list_contains($llm_ops, "GenAiOperation")
    UNION ALL
    SELECT "Timestamp", 'log', coalesce(nullif("RunId", ''), nullif("TraceId", '')),
        nullif("SpanId", ''), NULL, "TaskName", NULL, NULL, NULL, NULL, "Body",
        "SeverityNumber"
    FROM {{agent_logs}}  -- reads/agent_logs.sql, one text per engine
)
SELECT * FROM lines ORDER BY time DESC, kind LIMIT $limit
