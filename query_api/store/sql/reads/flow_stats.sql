-- Per flow name: the flow runs started in [$start, $end] ($flow: one flow or NULL for all),
-- their outcome, duration percentiles, tokens, cost (run totals) and nested crew runs.
WITH runs AS (
    SELECT r.*, CASE WHEN rt."RunId" IS NULL THEN tt."CostUsd" ELSE rt."CostUsd" END AS cost,
        (SELECT count(*) FROM crewscope_runs c WHERE c."ParentRunId" = r."SpanId") AS nested
    FROM crewscope_runs r
    LEFT JOIN crewscope_run_totals rt ON rt."RunId" = r."SpanId"
    LEFT JOIN crewscope_run_totals tt ON rt."RunId" IS NULL AND tt."RunId" = r."TraceId"
    WHERE r."Kind" = 'flow' AND r."Timestamp" BETWEEN $start AND $end
      AND ($flow IS NULL OR r."Name" = $flow)
)
SELECT
    coalesce(runs."Name", '') AS flow,
    count(*) AS runs,
    count(*) FILTER (WHERE NOT runs."Failed") AS successful,
    count(*) FILTER (WHERE runs."Failed") AS failed,
    avg(runs."DurationMs") AS avg_ms,
    min(runs."DurationMs") AS min_ms,
    max(runs."DurationMs") AS max_ms,
    quantile_cont(runs."DurationMs", [0.5, 0.95, 0.99]) AS q,
    sum(runs.nested) AS crew_runs,
    coalesce(sum(runs."InputTokens"), 0) AS input_tokens,
    coalesce(sum(runs."OutputTokens"), 0) AS output_tokens,
    sum(runs.cost) AS cost_usd
FROM runs
GROUP BY runs."Name"
ORDER BY runs DESC, flow
