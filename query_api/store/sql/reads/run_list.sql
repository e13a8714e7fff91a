-- One page of crew runs, newest first, with their trace totals; the where slot is built from a
-- fixed set of conditions.
WITH page AS (
    SELECT *
    FROM crewscope_runs
    {{where}}
    ORDER BY "Timestamp" DESC, "SpanId"
    LIMIT $limit OFFSET $offset
)
SELECT
    page.*,
    t."Spans" AS tt_spans, t."Tasks" AS tt_tasks, t."Steps" AS tt_steps,
    t."LlmCalls" AS tt_llm_calls, t."ToolCalls" AS tt_tool_calls, t."Errors" AS tt_errors,
    t."CostUsd" AS tt_cost_usd
FROM page
LEFT JOIN crewscope_trace_totals t USING ("TraceId")
ORDER BY page."Timestamp" DESC, page."SpanId"
