-- ClickHouse text of store/sql/reads/rollup_list.sql (the rollup views of
-- schema_rollups.sql, kept by materialized views; "RefreshedAt" is when a span last
-- counted in the row).
SELECT "Day" AS day, {{name_column}} AS name, "Executions" AS executions, "Successful" AS successful,
    "Failed" AS failed, "SuccessRate" AS success_rate, "AvgMs" AS avg_ms, "MinMs" AS min_ms,
    "MaxMs" AS max_ms, "P50Ms" AS p50_ms, "P95Ms" AS p95_ms, "P99Ms" AS p99_ms,
    "InputTokens" AS input_tokens, "OutputTokens" AS output_tokens, "CostUsd" AS cost_usd,
    "RefreshedAt" AS refreshed_at
FROM {{table}}
WHERE "Day" BETWEEN $date_from AND $date_to AND ($name IS NULL OR {{name_column}} = $name)
ORDER BY "Day" DESC, {{name_column}}
LIMIT $limit OFFSET $offset
