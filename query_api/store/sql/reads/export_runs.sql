-- Export: runs with their totals, filtered by the where slot.
SELECT r."SpanId" AS run_id, r."TraceId" AS trace_id, r."Kind" AS kind, r."Name" AS name,
    r."ParentRunId" AS parent_run_id, r."FlowMethod" AS flow_method, r."CrewName" AS crew,
    CASE WHEN r."Failed" THEN 'failed' ELSE 'completed' END AS status,
    r."Timestamp" AS start_time, r."EndTime" AS end_time, r."DurationMs" AS duration_ms,
    r."InputTokens" AS input_tokens, r."OutputTokens" AS output_tokens,
    CASE WHEN rt."RunId" IS NULL THEN tt."CostUsd" ELSE rt."CostUsd" END AS cost_usd,
    coalesce(rt."Tasks", tt."Tasks") AS task_count,
    coalesce(rt."LlmCalls", tt."LlmCalls") AS llm_calls,
    coalesce(rt."ToolCalls", tt."ToolCalls") AS tool_calls, r."ErrorType" AS error_type,
    left(r."StatusMessage", 200) AS error_preview
FROM crewscope_runs r
LEFT JOIN crewscope_run_totals rt ON rt."RunId" = r."SpanId"
LEFT JOIN crewscope_run_totals tt ON rt."RunId" IS NULL AND tt."RunId" = r."TraceId"
{{where}} ORDER BY r."Timestamp" DESC, r."SpanId"
