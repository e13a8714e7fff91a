-- ClickHouse text of store/sql/reads/subtree_totals.sql. ClickHouse's recursive CTEs union
-- with UNION ALL only, so the walk carries its path and never enters a span twice (bad data
-- with a parent cycle ends as DuckDB's UNION ends it), walks the distinct parent links, and
-- the (root, span) pairs are made distinct before the spans are counted (every stored row
-- of a span counts, as on DuckDB). The trace's spans are read once, as an array.
WITH RECURSIVE
-- the spans, read once (a scalar subquery) from the exporter's table, with crewscope_spans'
-- operation and cost: the walk below repeats its steps over them
(
    SELECT groupArray(tuple(SpanId, ParentSpanId, toString(SpanName), op, toString(StatusCode),
        if(op IS NULL OR crewscope_is_llm(op),
           crewscope_cost_from(currentDatabase() || '.crewscope_prices_dict', op,
                               crewscope_model(SpanAttributes), crewscope_provider(SpanAttributes),
                               crewscope_int(SpanAttributes, 'gen_ai.usage.input_tokens'),
                               crewscope_int(SpanAttributes, 'gen_ai.usage.output_tokens'),
                               crewscope_int(SpanAttributes, 'gen_ai.usage.cache_read.input_tokens'),
                               crewscope_int(SpanAttributes, 'gen_ai.usage.cache_creation.input_tokens')),
           NULL)))
    FROM (
        SELECT SpanId, ParentSpanId, SpanName, StatusCode, SpanAttributes,
               crewscope_attr(SpanAttributes, 'gen_ai.operation.name') AS op
        FROM otel_traces
        WHERE Timestamp BETWEEN $lo AND $hi AND has($trace_ids, TraceId)
    )
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
