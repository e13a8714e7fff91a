-- ClickHouse text of store/sql/reads/agent_top_errors.sql: realtime from the task
-- projection ($source = 'spans') or from the daily error rollup (schema_rollups.sql).
SELECT error, error_type, sum(n) AS count
FROM (
    SELECT
        left(coalesce(nullIf("StatusMessage", ''), "ErrorType", 'unknown error'), 100) AS error,
        "ErrorType" AS error_type, toInt64(count(*)) AS n
    FROM crewscope_tasks
    WHERE $source = 'spans' AND "AgentName" = $agent AND "Failed"
      AND "Timestamp" BETWEEN $start AND $end
    GROUP BY error, error_type
    UNION ALL
    SELECT "Error", "ErrorType", toInt64("Count")
    FROM crewscope_rollup_agent_errors_daily
    WHERE $source = 'rollup' AND "AgentName" = $agent AND "Day" BETWEEN $day_from AND $day_to
)
GROUP BY error, error_type
ORDER BY count DESC, error
LIMIT 5
