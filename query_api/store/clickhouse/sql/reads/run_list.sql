-- ClickHouse text of store/sql/reads/run_list.sql (the trace's totals joined unconditionally,
-- picked only when the run has none of its own).
WITH page AS (
    SELECT *
    FROM {{runs}} AS r
    {{where}}
    ORDER BY
        CASE WHEN $desc THEN {{sort}} END DESC NULLS LAST,
        CASE WHEN NOT $desc THEN {{sort}} END ASC NULLS LAST,
        "SpanId"
    LIMIT $limit OFFSET $offset
),
totals AS (
    SELECT * FROM crewscope_run_totals
    WHERE "RunId" IN (SELECT "SpanId" FROM page) OR "RunId" IN (SELECT "TraceId" FROM page)
)
SELECT
    page.*,
    coalesce(rt."Spans", tt."Spans") AS tt_spans,
    coalesce(rt."Tasks", tt."Tasks") AS tt_tasks,
    coalesce(rt."Steps", tt."Steps") AS tt_steps,
    coalesce(rt."LlmCalls", tt."LlmCalls") AS tt_llm_calls,
    coalesce(rt."ToolCalls", tt."ToolCalls") AS tt_tool_calls,
    coalesce(rt."Errors", tt."Errors") AS tt_errors,
    if(rt."RunId" IS NULL, tt."CostUsd", rt."CostUsd") AS tt_cost_usd
FROM page
LEFT JOIN totals rt ON rt."RunId" = page."SpanId"
LEFT JOIN totals tt ON tt."RunId" = page."TraceId"
ORDER BY
    CASE WHEN $desc THEN page.{{sort}} END DESC NULLS LAST,
    CASE WHEN NOT $desc THEN page.{{sort}} END ASC NULLS LAST,
    page."SpanId"
