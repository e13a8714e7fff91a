-- ClickHouse text of store/sql/reads/subtree_totals.sql. ClickHouse's recursive CTEs union
-- with UNION ALL only, so the walk carries its path and never enters a span twice (bad data
-- with a parent cycle ends as DuckDB's UNION ends it), walks the distinct parent links, and
-- the (root, span) pairs are made distinct before the spans are counted (every stored row
-- of a span counts, as on DuckDB). The trace's spans are read once, as an array.
WITH RECURSIVE
-- the spans, read once (a scalar subquery): the walk below repeats its steps over them
(
    SELECT groupArray(tuple("SpanId", "ParentSpanId", "SpanName", "GenAiOperation",
                            "StatusCode", "CostUsd"))
    FROM crewscope_spans
    WHERE "Timestamp" BETWEEN $lo AND $hi
      AND has($trace_ids, "TraceId")
) AS stored,
s AS (
    SELECT x.1 AS "SpanId", x.2 AS "ParentSpanId", x.3 AS "SpanName", x.4 AS "GenAiOperation",
           x.5 AS "StatusCode", x.6 AS "CostUsd"
    FROM (SELECT arrayJoin(stored) AS x)
),
links AS (
    SELECT DISTINCT "SpanId", "ParentSpanId" FROM s
),
tree AS (
    SELECT "SpanId" AS "Root", "SpanId" AS "SpanId", ["SpanId"] AS path
    FROM (SELECT DISTINCT "SpanId" FROM s WHERE has($root_ids, "SpanId"))
    UNION ALL
    SELECT tree."Root" AS "Root", links."SpanId" AS "SpanId",
           arrayPushBack(tree.path, links."SpanId") AS path
    FROM links
    JOIN tree ON links."ParentSpanId" = tree."SpanId"
    WHERE NOT has(tree.path, links."SpanId")
),
members AS (
    SELECT DISTINCT "Root", "SpanId" FROM tree
)
SELECT
    members."Root" AS root,
    count(*) AS spans,
    countIf(s."GenAiOperation" = 'invoke_agent') AS tasks,
    countIf(startsWith(s."SpanName", 'step ')) AS steps,
    countIf(has($llm_ops, s."GenAiOperation")) AS llm_calls,
    countIf(s."GenAiOperation" = 'execute_tool') AS tool_calls,
    countIf(s."StatusCode" = 'Error') AS errors,
    sumIf(s."CostUsd", has($llm_ops, s."GenAiOperation")) AS cost_usd
FROM members
JOIN s ON s."SpanId" = members."SpanId"
GROUP BY members."Root"
