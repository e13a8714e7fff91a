-- The runs of slot keys (run_sort_keys) with each run's cost as its summary shows it (run_totals.sql): its
-- own total, or its trace's when its spans name no run. Only for sorting by cost: the join
-- runs over every run that passes the filters, before the page is cut.
SELECT
    k.*,
    CASE WHEN rt."RunId" IS NULL THEN tt."CostUsd" ELSE rt."CostUsd" END AS "CostUsd"
FROM {{keys}} AS k
LEFT JOIN crewscope_run_totals rt ON rt."RunId" = k."SpanId"
LEFT JOIN crewscope_run_totals tt ON rt."RunId" IS NULL AND tt."RunId" = k."TraceId"
