-- ClickHouse text of store/sql/reads/log_span_subtree.sql. ClickHouse's recursive CTEs union
-- with UNION ALL only: the walk carries its path and never enters a span twice (a parent
-- cycle ends as DuckDB's UNION ends it), over the distinct parent links.
WITH RECURSIVE s AS (
    SELECT DISTINCT "SpanId", "ParentSpanId"
    FROM otel_traces
    WHERE "TraceId" = $trace_id AND "Timestamp" BETWEEN $lo AND $hi
),
tree AS (
    SELECT "SpanId", ["SpanId"] AS path
    FROM (SELECT DISTINCT "SpanId" FROM s WHERE "SpanId" = $root_id)
    UNION ALL
    SELECT s."SpanId" AS "SpanId", arrayPushBack(tree.path, s."SpanId") AS path
    FROM s
    JOIN tree ON s."ParentSpanId" = tree."SpanId"
    WHERE NOT has(tree.path, s."SpanId")
)
SELECT DISTINCT "SpanId" FROM tree
