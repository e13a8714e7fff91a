-- Add the task executions (invoke_agent spans) with rowid in [$lo, $hi] to
-- crewscope_agent_hourly. Same values as crewscope_tasks (project_tasks.sql).
INSERT INTO crewscope_agent_hourly
    ("Hour", "AgentName", "Executions", "Failed", "SumMs", "MinMs", "MaxMs", "InputTokens",
     "OutputTokens", "LastTs")
SELECT
    date_trunc('hour', "Timestamp"),
    coalesce("AgentName", ''),
    count(*),
    count(*) FILTER (WHERE "StatusCode" = 'Error'),
    sum("Duration" / 1e6),
    min("Duration" / 1e6),
    max("Duration" / 1e6),
    coalesce(sum("InputTokens"), 0),
    coalesce(sum("OutputTokens"), 0),
    max("Timestamp")
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND "GenAiOperation" = 'invoke_agent'
GROUP BY ALL
ON CONFLICT ("Hour", "AgentName") DO UPDATE SET
    "Executions" = crewscope_agent_hourly."Executions" + EXCLUDED."Executions",
    "Failed" = crewscope_agent_hourly."Failed" + EXCLUDED."Failed",
    "SumMs" = crewscope_agent_hourly."SumMs" + EXCLUDED."SumMs",
    "MinMs" = coalesce(least(crewscope_agent_hourly."MinMs", EXCLUDED."MinMs"),
                       EXCLUDED."MinMs", crewscope_agent_hourly."MinMs"),
    "MaxMs" = coalesce(greatest(crewscope_agent_hourly."MaxMs", EXCLUDED."MaxMs"),
                       EXCLUDED."MaxMs", crewscope_agent_hourly."MaxMs"),
    "InputTokens" = crewscope_agent_hourly."InputTokens" + EXCLUDED."InputTokens",
    "OutputTokens" = crewscope_agent_hourly."OutputTokens" + EXCLUDED."OutputTokens",
    "LastTs" = coalesce(greatest(crewscope_agent_hourly."LastTs", EXCLUDED."LastTs"),
                        EXCLUDED."LastTs", crewscope_agent_hourly."LastTs")
