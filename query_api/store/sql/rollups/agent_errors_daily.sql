-- Daily per-agent error counts (failed task executions) in [$ts_from, $ts_to).
INSERT INTO crewscope_rollup_agent_errors_daily
SELECT
    "Timestamp"::DATE, "AgentName", "ErrorType",
    left(coalesce(nullif("StatusMessage", ''), "ErrorType", 'unknown error'), 100),
    count(*)
FROM crewscope_tasks
WHERE "Timestamp" >= $ts_from AND "Timestamp" < $ts_to AND "Failed" AND "AgentName" IS NOT NULL
GROUP BY ALL
