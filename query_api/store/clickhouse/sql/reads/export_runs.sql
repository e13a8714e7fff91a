-- ClickHouse text of store/sql/reads/export_runs.sql: runs with their totals (the run's, or
-- its trace's for a run whose spans name no run: both joined, one picked), filtered by the
-- where slot.
WITH r AS (
    SELECT * FROM crewscope_runs {{where}}
),
totals AS (
    SELECT * FROM crewscope_run_totals
    WHERE "RunId" IN (SELECT "SpanId" FROM r) OR "RunId" IN (SELECT "TraceId" FROM r)
)
SELECT r."SpanId" AS run_id, r."TraceId" AS trace_id, r."Kind" AS kind, r."Name" AS name,
    r."ParentRunId" AS parent_run_id, r."FlowMethod" AS flow_method, r."CrewName" AS crew,
    if(r."Failed", 'failed', 'completed') AS status,
    r."Timestamp" AS start_time, r."EndTime" AS end_time, r."DurationMs" AS duration_ms,
    r."InputTokens" AS input_tokens, r."OutputTokens" AS output_tokens,
    if(rt."RunId" IS NULL, tt."CostUsd", rt."CostUsd") AS cost_usd,
    if(rt."RunId" IS NULL, tt."Tasks", rt."Tasks") AS task_count,
    if(rt."RunId" IS NULL, tt."LlmCalls", rt."LlmCalls") AS llm_calls,
    if(rt."RunId" IS NULL, tt."ToolCalls", rt."ToolCalls") AS tool_calls,
    r."ErrorType" AS error_type,
    left(r."StatusMessage", 200) AS error_preview
FROM r
LEFT JOIN totals AS rt ON rt."RunId" = r."SpanId"
LEFT JOIN totals AS tt ON tt."RunId" = r."TraceId"
ORDER BY start_time DESC, run_id
