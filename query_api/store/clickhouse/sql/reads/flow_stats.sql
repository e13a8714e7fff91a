-- ClickHouse text of store/sql/reads/flow_stats.sql: the nested crew runs counted by a join
-- (ClickHouse has no correlated subqueries), the trace's totals joined unconditionally and
-- picked only when the run has none of its own (as run_list.sql).
WITH nested AS (
    SELECT "ParentRunId" AS parent, count(*) AS n
    FROM crewscope_runs
    WHERE "ParentRunId" IS NOT NULL
    GROUP BY parent
),
flow_runs AS (
    SELECT
        r."Name" AS "Name", r."Failed" AS "Failed", r."DurationMs" AS "DurationMs",
        r."InputTokens" AS "InputTokens", r."OutputTokens" AS "OutputTokens",
        if(rt."RunId" IS NULL, tt."CostUsd", rt."CostUsd") AS cost,
        coalesce(nested.n, 0) AS crews
    FROM crewscope_runs r
    LEFT JOIN crewscope_run_totals rt ON rt."RunId" = r."SpanId"
    LEFT JOIN crewscope_run_totals tt ON tt."RunId" = r."TraceId"
    LEFT JOIN nested ON nested.parent = r."SpanId"
    WHERE r."Kind" = 'flow' AND r."Timestamp" BETWEEN $start AND $end
      AND ($flow IS NULL OR r."Name" = $flow)
)
SELECT
    coalesce(fr."Name", '') AS flow,
    count(*) AS runs,
    countIf(NOT fr."Failed") AS successful,
    countIf(fr."Failed") AS failed,
    avg(fr."DurationMs") AS avg_ms,
    min(fr."DurationMs") AS min_ms,
    max(fr."DurationMs") AS max_ms,
    quantilesExactInclusive(0.5, 0.95, 0.99)(fr."DurationMs") AS q,
    sum(fr.crews) AS crew_runs,
    coalesce(sum(fr."InputTokens"), 0) AS input_tokens,
    coalesce(sum(fr."OutputTokens"), 0) AS output_tokens,
    sum(fr.cost) AS cost_usd
FROM flow_runs AS fr
GROUP BY fr."Name"
ORDER BY runs DESC, flow
