-- The span ids of $root_id and every span beneath it (parent chain), among the spans of
-- $trace_id in [$lo, $hi], walking the parent ids down from the root.
WITH RECURSIVE s AS MATERIALIZED (
    SELECT "SpanId", "ParentSpanId"
    FROM otel_traces
    WHERE "TraceId" = $trace_id AND "Timestamp" BETWEEN $lo AND $hi
),
tree("SpanId") AS (
    SELECT "SpanId" FROM s WHERE "SpanId" = $root_id
    UNION
    SELECT s."SpanId" FROM s JOIN tree ON s."ParentSpanId" = tree."SpanId"
)
SELECT "SpanId" FROM tree
