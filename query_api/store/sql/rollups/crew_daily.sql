-- Daily per-crew rollup rows for crew runs (top-level or nested in a flow) that started in
-- [$ts_from, $ts_to); cost is the run's total (crewscope_run_totals), counted on its start day.
INSERT INTO crewscope_rollup_crew_daily
SELECT
    r."Timestamp"::DATE, r."CrewName",
    count(*),
    count(*) FILTER (WHERE NOT r."Failed"),
    count(*) FILTER (WHERE r."Failed"),
    100.0 * count(*) FILTER (WHERE NOT r."Failed") / count(*),
    sum(r."DurationMs"), avg(r."DurationMs"), min(r."DurationMs"), max(r."DurationMs"),
    quantile_cont(r."DurationMs", 0.5),
    quantile_cont(r."DurationMs", 0.95),
    quantile_cont(r."DurationMs", 0.99),
    list_sort(list(r."DurationMs")),
    coalesce(sum(r."InputTokens"), 0), coalesce(sum(r."OutputTokens"), 0),
    sum(CASE WHEN rt."RunId" IS NULL THEN tt."CostUsd" ELSE rt."CostUsd" END),
    $now
FROM crewscope_runs r
LEFT JOIN crewscope_run_totals rt ON rt."RunId" = r."SpanId"
LEFT JOIN crewscope_run_totals tt ON rt."RunId" IS NULL AND tt."RunId" = r."TraceId"
WHERE r."Timestamp" >= $ts_from AND r."Timestamp" < $ts_to
  AND r."Kind" = 'crew' AND r."CrewName" IS NOT NULL
GROUP BY ALL
