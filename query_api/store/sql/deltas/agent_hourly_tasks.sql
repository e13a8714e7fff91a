-- Hourly sums per agent of the task executions (invoke_agent spans) with rowid in
-- [$lo, $hi], merged into crewscope_agent_hourly (sum_tables.py). Same values as
-- crewscope_tasks (project_tasks.sql).
SELECT
    date_trunc('hour', "Timestamp") AS "Hour",
    coalesce("AgentName", '') AS "AgentName",
    count(*) AS "Executions",
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS "Failed",
    sum("Duration" / 1e6) AS "SumMs",
    min("Duration" / 1e6) AS "MinMs",
    max("Duration" / 1e6) AS "MaxMs",
    coalesce(sum("InputTokens"), 0) AS "InputTokens",
    coalesce(sum("OutputTokens"), 0) AS "OutputTokens",
    max("Timestamp") AS "LastTs"
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND "GenAiOperation" = 'invoke_agent'
GROUP BY ALL
