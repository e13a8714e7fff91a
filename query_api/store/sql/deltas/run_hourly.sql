-- Hourly sums of the top-level runs (flow, crew or agent kickoffs not nested in another
-- run) with rowid in [$lo, $hi], merged into crewscope_run_hourly (sum_tables.py); the
-- same rows as crewscope_runs WHERE "ParentRunId" IS NULL.
SELECT
    date_trunc('hour', "Timestamp") AS "Hour",
    kind AS "Kind",
    coalesce(CASE WHEN kind = 'agent' THEN "AgentName" ELSE "CrewName" END, '') AS "Name",
    count(*) AS "Runs",
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS "Failed",
    coalesce(sum("InputTokens"), 0) AS "InputTokens",
    coalesce(sum("OutputTokens"), 0) AS "OutputTokens"
FROM crewscope_run_spans($lo, $hi)
WHERE nullif("SpanAttributes"['crewscope.run.parent_id'], '') IS NULL
GROUP BY ALL
