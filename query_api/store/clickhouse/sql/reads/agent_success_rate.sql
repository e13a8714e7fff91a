-- ClickHouse text of store/sql/reads/agent_success_rate.sql: success rate per agent over
-- task executions (the task projection) in [$start, $end].
SELECT
    "AgentName" AS agent,
    count(*) AS executions,
    countIf(NOT "Failed") AS successful,
    countIf("Failed") AS failed,
    countIf(NOT "Failed") / count(*) AS success_ratio,
    max("EndTime") AS last_execution
FROM crewscope_tasks
WHERE "Timestamp" BETWEEN $start AND $end
  AND "AgentName" IS NOT NULL
  AND ($crew IS NULL OR "CrewName" = $crew)
GROUP BY agent
ORDER BY agent
