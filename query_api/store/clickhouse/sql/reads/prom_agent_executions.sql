-- ClickHouse text of store/sql/reads/prom_agent_executions.sql.
SELECT
    "AgentName" AS agent,
    "StatusCode" = 'Error' AS failed,
    coalesce("ErrorType", '') AS error_type,
    length(arrayFilter(b -> b < "Duration" / 1e9, $bounds)) AS bucket,
    count(*) AS n,
    sum("Duration") / 1e9 AS seconds
FROM crewscope_spans
WHERE "GenAiOperation" = 'invoke_agent' AND "AgentName" IS NOT NULL
GROUP BY agent, failed, error_type, bucket
