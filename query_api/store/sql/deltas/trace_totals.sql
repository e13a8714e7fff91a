-- Per-trace totals of the spans with rowid in [$lo, $hi], merged into
-- crewscope_trace_totals (sum_tables.py).
SELECT
    "TraceId",
    count(*) AS "Spans",
    count(*) FILTER (WHERE "GenAiOperation" = 'invoke_agent') AS "Tasks",
    count(*) FILTER (WHERE starts_with("SpanName", 'step ')) AS "Steps",
    count(*) FILTER (WHERE list_contains($llm_ops, "GenAiOperation")) AS "LlmCalls",
    count(*) FILTER (WHERE "GenAiOperation" = 'execute_tool') AS "ToolCalls",
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS "Errors",
    sum("CostUsd") FILTER (WHERE list_contains($llm_ops, "GenAiOperation")) AS "CostUsd"
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
GROUP BY "TraceId"
