-- Add the crew kickoffs (invoke_workflow spans that are not flows) with rowid in [$lo, $hi]
-- to crewscope_crew_hourly. Same rows as crewscope_runs WHERE NOT "IsFlow".
INSERT INTO crewscope_crew_hourly
SELECT
    date_trunc('hour', "Timestamp"),
    coalesce("CrewName", ''),
    count(*),
    count(*) FILTER (WHERE "StatusCode" = 'Error'),
    coalesce(sum("InputTokens"), 0),
    coalesce(sum("OutputTokens"), 0)
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND "GenAiOperation" = 'invoke_workflow'
  AND "SpanAttributes"['crewai.flow.name'] IS NULL
GROUP BY ALL
ON CONFLICT ("Hour", "CrewName") DO UPDATE SET
    "Runs" = crewscope_crew_hourly."Runs" + EXCLUDED."Runs",
    "Failed" = crewscope_crew_hourly."Failed" + EXCLUDED."Failed",
    "InputTokens" = crewscope_crew_hourly."InputTokens" + EXCLUDED."InputTokens",
    "OutputTokens" = crewscope_crew_hourly."OutputTokens" + EXCLUDED."OutputTokens"
