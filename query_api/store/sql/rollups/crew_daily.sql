-- Daily per-crew rollup rows for crew runs that started in [$ts_from, $ts_to); cost is the
-- run's trace total (crewscope_trace_totals), counted on the run's start day.
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
    sum(t."CostUsd"),
    $now
FROM crewscope_runs r
LEFT JOIN crewscope_trace_totals t USING ("TraceId")
WHERE r."Timestamp" >= $ts_from AND r."Timestamp" < $ts_to
  AND NOT r."IsFlow" AND r."CrewName" IS NOT NULL
GROUP BY ALL
