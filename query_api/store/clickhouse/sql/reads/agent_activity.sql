-- ClickHouse text of store/sql/reads/agent_activity.sql. The spans' lines are the same; the
-- log records are read from the exporter's otel_logs itself, not through crewscope_logs
-- (schema_signals.sql), with the same values that view gives: the agent compared on the
-- attribute map as stored (a record without the attribute has '' there, which names no
-- agent), so the map values' data-skipping index skips the granules without the agent, and
-- newest first by the table's own sort prefix (toStartOfFiveMinutes never decreases with
-- the time, so the order is the time's), so the newest parts are read first and reading
-- stops once $limit records are found.
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
    FROM (
        SELECT
            l.Timestamp AS "Timestamp", l.TraceId AS "TraceId", l.SpanId AS "SpanId",
            crewscope_attr(l.LogAttributes, 'crewscope.run.id') AS "RunId",
            crewscope_attr(l.LogAttributes, 'crewai.task.name') AS "TaskName",
            nullIf(l.Body, '') AS "Body", toInt32(l.SeverityNumber) AS "SeverityNumber"
        FROM otel_logs AS l
        WHERE l.LogAttributes['gen_ai.agent.name'] = $agent AND $agent != ''
          AND l.SeverityNumber >= $min_severity
        ORDER BY toStartOfFiveMinutes(l.Timestamp) DESC, l.Timestamp DESC
        LIMIT $limit
    )
)
SELECT * FROM lines ORDER BY time DESC, kind LIMIT $limit
