-- Export: crew runs with their trace totals, filtered by the where slot.
SELECT r."TraceId" AS run_id, r."SpanId" AS span_id, r."CrewName" AS crew,
    CASE WHEN r."Failed" THEN 'failed' ELSE 'completed' END AS status,
    r."Timestamp" AS start_time, r."EndTime" AS end_time, r."DurationMs" AS duration_ms,
    r."InputTokens" AS input_tokens, r."OutputTokens" AS output_tokens,
    t."CostUsd" AS cost_usd, t."Tasks" AS task_count, t."LlmCalls" AS llm_calls,
    t."ToolCalls" AS tool_calls, r."ErrorType" AS error_type,
    left(r."StatusMessage", 200) AS error_preview
FROM crewscope_runs r LEFT JOIN crewscope_trace_totals t USING ("TraceId")
{{where}} ORDER BY r."Timestamp" DESC, r."SpanId"
