-- Add the spans with rowid in [$lo, $hi] to crewscope_trace_totals.
INSERT INTO crewscope_trace_totals
SELECT
    "TraceId",
    count(*),
    count(*) FILTER (WHERE "GenAiOperation" = 'invoke_agent'),
    count(*) FILTER (WHERE starts_with("SpanName", 'step ')),
    count(*) FILTER (WHERE list_contains($llm_ops, "GenAiOperation")),
    count(*) FILTER (WHERE "GenAiOperation" = 'execute_tool'),
    count(*) FILTER (WHERE "StatusCode" = 'Error'),
    sum("CostUsd") FILTER (WHERE list_contains($llm_ops, "GenAiOperation"))
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
GROUP BY "TraceId"
ON CONFLICT ("TraceId") DO UPDATE SET
    "Spans" = crewscope_trace_totals."Spans" + EXCLUDED."Spans",
    "Tasks" = crewscope_trace_totals."Tasks" + EXCLUDED."Tasks",
    "Steps" = crewscope_trace_totals."Steps" + EXCLUDED."Steps",
    "LlmCalls" = crewscope_trace_totals."LlmCalls" + EXCLUDED."LlmCalls",
    "ToolCalls" = crewscope_trace_totals."ToolCalls" + EXCLUDED."ToolCalls",
    "Errors" = crewscope_trace_totals."Errors" + EXCLUDED."Errors",
    "CostUsd" = coalesce(
        crewscope_trace_totals."CostUsd" + EXCLUDED."CostUsd",
        crewscope_trace_totals."CostUsd",
        EXCLUDED."CostUsd"
    )
