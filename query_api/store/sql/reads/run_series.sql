-- Top-level runs per time bucket of $width_s seconds, by kickoff start in [$start, $end]
-- ($kind, $name: one kind / name, or NULL for all): outcomes, duration, tokens of the run
-- spans and cost as GET /runs reports them (the run's totals, or its trace's for runs whose
-- spans name no run). Buckets without a run are left out.
SELECT
    time_bucket(to_seconds($width_s), r."Timestamp"::TIMESTAMP) AS bucket,
    count(*) AS runs,
    count(*) FILTER (WHERE NOT r."Failed") AS successful,
    count(*) FILTER (WHERE r."Failed") AS failed,
    avg(r."DurationMs") AS avg_ms,
    quantile_cont(r."DurationMs", 0.95) AS p95_ms,
    coalesce(sum(r."InputTokens"), 0) AS input_tokens,
    coalesce(sum(r."OutputTokens"), 0) AS output_tokens,
    sum(CASE WHEN rt."RunId" IS NULL THEN tt."CostUsd" ELSE rt."CostUsd" END) AS cost_usd
FROM crewscope_runs r
LEFT JOIN crewscope_run_totals rt ON rt."RunId" = r."SpanId"
LEFT JOIN crewscope_run_totals tt ON rt."RunId" IS NULL AND tt."RunId" = r."TraceId"
WHERE r."ParentRunId" IS NULL
  AND r."Timestamp" BETWEEN $start AND $end
  AND ($kind IS NULL OR r."Kind" = $kind)
  AND ($name IS NULL OR r."Name" = $name)
GROUP BY ALL
ORDER BY bucket
