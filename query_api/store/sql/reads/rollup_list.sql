-- One page of daily rollup rows of one grouping (table and name column from the slots), each
-- with the number of rows that pass the filters (`total`: counted before the page is cut).
SELECT "Day" AS day, {{name_column}} AS name, "Executions" AS executions, "Successful" AS successful,
    "Failed" AS failed, "SuccessRate" AS success_rate, "AvgMs" AS avg_ms, "MinMs" AS min_ms,
    "MaxMs" AS max_ms, "P50Ms" AS p50_ms, "P95Ms" AS p95_ms, "P99Ms" AS p99_ms,
    "InputTokens" AS input_tokens, "OutputTokens" AS output_tokens, "CostUsd" AS cost_usd,
    "RefreshedAt" AS refreshed_at, count(*) OVER () AS total
FROM {{table}}
WHERE "Day" BETWEEN $date_from AND $date_to AND ($name IS NULL OR {{name_column}} = $name)
ORDER BY "Day" DESC, {{name_column}}
LIMIT $limit OFFSET $offset
