-- ClickHouse text of store/sql/reads/agent_activity.sql: the last $limit activity lines of
-- agent $agent, newest first: its task starts and ends, steps, tool calls and LLM calls
-- (from its spans; ends at the span's end time) and its log records (the exporter's
-- otel_logs, the agent and run from their attributes) at or above $min_severity. Only spans
-- ending at or after the cutoff and starting at or after since are read; both are found
-- here, as agent_activity_window.sql finds them ($cutoff and $since are not used: the far
-- date passed for an agent without spans is beyond ClickHouse's DateTime64 range).
WITH shown AS (
    SELECT "Timestamp", addMicroseconds("Timestamp", intDiv("Duration", 1000)) AS end_time
    FROM crewscope_spans
    WHERE "AgentName" = $agent
      AND ("GenAiOperation" IN ('invoke_agent', 'execute_tool')
           OR has($llm_ops, "GenAiOperation")
           OR startsWith("SpanName", 'step '))
),
newest AS (
    SELECT min("Timestamp") AS ts
    FROM (SELECT "Timestamp" FROM shown ORDER BY "Timestamp" DESC LIMIT $limit)
),
bounds AS (
    SELECT newest.ts AS cutoff_ts, min(shown."Timestamp") AS since_ts
    FROM shown CROSS JOIN newest
    WHERE shown.end_time >= newest.ts
    GROUP BY newest.ts
),
spans AS (
    SELECT
        "Timestamp", "Duration", "SpanId", "SpanName", "GenAiOperation", "StatusCode",
        "StatusMessage", "ErrorType", "TaskName", "ToolName", "Model", "InputTokens",
        "OutputTokens",
        coalesce(nullIf("SpanAttributes"['crewscope.run.id'], ''), "TraceId") AS run_id,
        "SpanAttributes"['crewai.step.index'] AS step_index,
        "SpanAttributes"['crewai.step.type'] AS step_type,
        addMicroseconds("Timestamp", intDiv("Duration", 1000)) AS end_time
    FROM crewscope_spans
    WHERE "AgentName" = $agent
      AND "Timestamp" >= (SELECT since_ts FROM bounds)
      AND ("GenAiOperation" IN ('invoke_agent', 'execute_tool')
           OR has($llm_ops, "GenAiOperation")
           OR startsWith("SpanName", 'step '))
      AND addMicroseconds("Timestamp", intDiv("Duration", 1000)) >= (SELECT cutoff_ts FROM bounds)
),
lines AS (
    SELECT "Timestamp" AS time, 'task_started' AS kind, run_id, CAST("SpanId", 'Nullable(String)') AS span_id,
        CAST('unset', 'Nullable(String)') AS status, "TaskName" AS name,
        CAST(NULL, 'Nullable(Int64)') AS input_tokens, CAST(NULL, 'Nullable(Int64)') AS output_tokens,
        CAST(NULL, 'Nullable(String)') AS detail, CAST(NULL, 'Nullable(String)') AS error_type,
        CAST(NULL, 'Nullable(String)') AS message, CAST(NULL, 'Nullable(Int32)') AS severity
    FROM spans WHERE "GenAiOperation" = 'invoke_agent'
    UNION ALL
    SELECT end_time, if("StatusCode" = 'Error', 'task_failed', 'task_finished'),
        run_id, "SpanId", lower("StatusCode"), "TaskName", "InputTokens", "OutputTokens",
        NULL, "ErrorType", "StatusMessage", NULL
    FROM spans WHERE "GenAiOperation" = 'invoke_agent'
    UNION ALL
    SELECT "Timestamp", 'step', run_id, "SpanId", lower("StatusCode"), "TaskName", NULL, NULL,
        arrayStringConcat(arrayFilter(x -> x IS NOT NULL, [step_index, step_type]), ' '),
        "ErrorType", "StatusMessage", NULL
    FROM spans WHERE startsWith("SpanName", 'step ') AND "GenAiOperation" IS NULL
    UNION ALL
    SELECT end_time, 'tool_call', run_id, "SpanId", lower("StatusCode"), "ToolName", NULL, NULL,
        NULL, "ErrorType", "StatusMessage", NULL
    FROM spans WHERE "GenAiOperation" = 'execute_tool'
    UNION ALL
    SELECT end_time, 'llm_call', run_id, "SpanId", lower("StatusCode"), "Model", "InputTokens",
        "OutputTokens", NULL, "ErrorType", "StatusMessage", NULL
    FROM spans WHERE has($llm_ops, "GenAiOperation")
    UNION ALL
    SELECT "Timestamp", 'log',
        coalesce(nullIf(LogAttributes['crewscope.run.id'], ''), nullIf(TraceId, '')),
        nullIf(SpanId, ''), NULL, nullIf(LogAttributes['crewai.task.name'], ''), NULL, NULL,
        NULL, NULL, Body, toInt32(SeverityNumber)
    FROM (
        SELECT * FROM otel_logs
        WHERE LogAttributes['gen_ai.agent.name'] = $agent AND SeverityNumber >= $min_severity
        ORDER BY Timestamp DESC LIMIT $limit
    )
)
SELECT * FROM lines ORDER BY time DESC, kind LIMIT $limit
