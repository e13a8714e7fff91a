-- Hourly sums per crew of the crew kickoffs (invoke_workflow spans that are not flows) with
-- rowid in [$lo, $hi], merged into crewscope_crew_hourly (sum_tables.py); same rows as
-- crewscope_runs WHERE NOT "IsFlow".
SELECT
    date_trunc('hour', "Timestamp") AS "Hour",
    coalesce("CrewName", '') AS "CrewName",
    count(*) AS "Runs",
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS "Failed",
    coalesce(sum("InputTokens"), 0) AS "InputTokens",
    coalesce(sum("OutputTokens"), 0) AS "OutputTokens"
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND "GenAiOperation" = 'invoke_workflow'
  AND "SpanAttributes"['crewai.flow.name'] IS NULL
GROUP BY ALL
