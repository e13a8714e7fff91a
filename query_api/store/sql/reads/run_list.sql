-- One page of runs (reads/run_page.sql, the page slot) with their totals (the run's own, or
-- its trace's for runs whose spans name no run), in the page's order (the sort slot: the
-- page's sort key).
WITH page AS {{page}}
SELECT
    page.*,
    coalesce(rt."Spans", tt."Spans") AS tt_spans,
    coalesce(rt."Tasks", tt."Tasks") AS tt_tasks,
    coalesce(rt."Steps", tt."Steps") AS tt_steps,
    coalesce(rt."LlmCalls", tt."LlmCalls") AS tt_llm_calls,
    coalesce(rt."ToolCalls", tt."ToolCalls") AS tt_tool_calls,
    coalesce(rt."Errors", tt."Errors") AS tt_errors,
    CASE WHEN rt."RunId" IS NULL THEN tt."CostUsd" ELSE rt."CostUsd" END AS tt_cost_usd
FROM page
LEFT JOIN crewscope_run_totals rt ON rt."RunId" = page."SpanId"
LEFT JOIN crewscope_run_totals tt ON rt."RunId" IS NULL AND tt."RunId" = page."TraceId"
ORDER BY
    CASE WHEN $desc THEN page.{{sort}} END DESC NULLS LAST,
    CASE WHEN NOT $desc THEN page.{{sort}} END ASC NULLS LAST,
    page."SpanId"
