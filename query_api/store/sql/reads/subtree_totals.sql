-- Counts and cost of the subtree under each of $root_ids (spans of $trace_ids in [$lo, $hi]).
WITH RECURSIVE s AS MATERIALIZED (
    SELECT "SpanId", "ParentSpanId", "SpanName", "GenAiOperation", "StatusCode", "CostUsd"
    FROM otel_traces
    WHERE "Timestamp" BETWEEN $lo AND $hi
      AND list_contains($trace_ids, "TraceId")
),
tree("Root", "SpanId") AS (
    SELECT "SpanId", "SpanId" FROM s WHERE list_contains($root_ids, "SpanId")
    UNION
    SELECT tree."Root", s."SpanId" FROM s JOIN tree ON s."ParentSpanId" = tree."SpanId"
)
SELECT
    tree."Root" AS root,
    count(*) AS spans,
    count(*) FILTER (WHERE s."GenAiOperation" = 'invoke_agent') AS tasks,
    count(*) FILTER (WHERE starts_with(s."SpanName", 'step ')) AS steps,
    count(*) FILTER (WHERE list_contains($llm_ops, s."GenAiOperation")) AS llm_calls,
    count(*) FILTER (WHERE s."GenAiOperation" = 'execute_tool') AS tool_calls,
    count(*) FILTER (WHERE s."StatusCode" = 'Error') AS errors,
    sum(s."CostUsd") FILTER (WHERE list_contains($llm_ops, s."GenAiOperation")) AS cost_usd
FROM tree
JOIN s USING ("SpanId")
GROUP BY tree."Root"
