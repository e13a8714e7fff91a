-- ClickHouse text of store/sql/reads/export_rollups.sql: daily rollups of one grouping (the
-- rollup views of schema_rollups.sql), filtered by the where slot.
SELECT "Day" AS day, {{name_column}} AS {{group}}, "Executions" AS executions,
    "Successful" AS successful, "Failed" AS failed, "SuccessRate" AS success_rate,
    "AvgMs" AS avg_ms, "MinMs" AS min_ms, "MaxMs" AS max_ms, "P50Ms" AS p50_ms,
    "P95Ms" AS p95_ms, "P99Ms" AS p99_ms, "InputTokens" AS input_tokens,
    "OutputTokens" AS output_tokens, "CostUsd" AS cost_usd
FROM {{table}} {{where}} ORDER BY "Day", {{name_column}}
