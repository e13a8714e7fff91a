-- One page of runs with their totals (the run's own, or its trace's for runs whose spans name
-- no run). Slots: runs, the runs with their sort keys (run_sort_keys, or run_sort_cost when
-- sorting by cost); where, built from a fixed set of conditions; sort, one of the sort key
-- columns (an allowlist in code), descending when $desc, NULLs last either way, ties by run
-- id. Newest first: sort "Timestamp", $desc true.
WITH page AS (
    SELECT *
    FROM {{runs}} AS r
    {{where}}
    ORDER BY
        CASE WHEN $desc THEN {{sort}} END DESC NULLS LAST,
        CASE WHEN NOT $desc THEN {{sort}} END ASC NULLS LAST,
        "SpanId"
    LIMIT $limit OFFSET $offset
)
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
