-- Per-run totals of the spans with rowid in [$lo, $hi], merged into crewscope_run_totals
-- (sum_tables.py): each span counts for the run it belongs to and, when that is a nested
-- run, for its top-level run too; a span that names no run counts under its TraceId.
WITH s AS (
    SELECT
        coalesce(nullif("SpanAttributes"['crewscope.run.id'], ''), "TraceId") AS run_id,
        nullif("SpanAttributes"['crewscope.run.root_id'], '') AS root_id,
        "GenAiOperation", "SpanName", "StatusCode", "CostUsd"
    FROM otel_traces
    WHERE rowid BETWEEN $lo AND $hi
),
keyed AS (
    SELECT run_id AS "RunId", * FROM s
    UNION ALL
    SELECT root_id AS "RunId", * FROM s WHERE root_id IS NOT NULL AND root_id <> run_id
)
SELECT
    "RunId",
    count(*) AS "Spans",
    count(*) FILTER (WHERE "GenAiOperation" = 'invoke_agent') AS "Tasks",
    count(*) FILTER (WHERE starts_with("SpanName", 'step ')) AS "Steps",
    count(*) FILTER (WHERE list_contains($llm_ops, "GenAiOperation")) AS "LlmCalls",
    count(*) FILTER (WHERE "GenAiOperation" = 'execute_tool') AS "ToolCalls",
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS "Errors",
    sum("CostUsd") FILTER (WHERE list_contains($llm_ops, "GenAiOperation")) AS "CostUsd"
FROM keyed
GROUP BY "RunId"
