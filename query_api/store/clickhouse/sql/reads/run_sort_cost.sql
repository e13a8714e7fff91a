-- ClickHouse text of store/sql/reads/run_sort_cost.sql.
SELECT
    k.*,
    if(rt."RunId" IS NULL, tt."CostUsd", rt."CostUsd") AS "CostUsd"
FROM {{keys}} AS k
LEFT JOIN crewscope_run_totals rt ON rt."RunId" = k."SpanId"
LEFT JOIN crewscope_run_totals tt ON tt."RunId" = k."TraceId"
