-- ClickHouse text of store/sql/reads/run_series.sql: top-level runs per time bucket of
-- $width_s seconds, by kickoff start in [$start, $end]; cost is the run's totals, or its
-- trace's for a run whose spans name no run (both joined, one picked, as run_list.sql).
WITH r AS (
    SELECT * FROM crewscope_runs
    WHERE "ParentRunId" IS NULL
      AND "Timestamp" BETWEEN $start AND $end
      AND ($kind IS NULL OR "Kind" = $kind)
      AND ($name IS NULL OR "Name" = $name)
),
totals AS (
    SELECT "RunId", "CostUsd" FROM crewscope_run_totals
    WHERE "RunId" IN (SELECT "SpanId" FROM r) OR "RunId" IN (SELECT "TraceId" FROM r)
)
SELECT
    toStartOfInterval(r."Timestamp", toIntervalSecond($width_s), 'UTC') AS bucket,
    count(*) AS runs,
    countIf(NOT r."Failed") AS successful,
    countIf(r."Failed") AS failed,
    avg(r."DurationMs") AS avg_ms,
    quantileExactInclusive(0.95)(r."DurationMs") AS p95_ms,
    coalesce(sum(r."InputTokens"), 0) AS input_tokens,
    coalesce(sum(r."OutputTokens"), 0) AS output_tokens,
    sum(if(rt."RunId" IS NULL, tt."CostUsd", rt."CostUsd")) AS cost_usd
FROM r
LEFT JOIN totals AS rt ON rt."RunId" = r."SpanId"
LEFT JOIN totals AS tt ON tt."RunId" = r."TraceId"
GROUP BY bucket
ORDER BY bucket
