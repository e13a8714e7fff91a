-- ClickHouse text of store/sql/reads/agent_top_errors.sql: realtime from the task
-- projection ($source = 'spans'); ClickHouse keeps no daily error rollup, so $source =
-- 'rollup' ($day_from, $day_to) finds none.
SELECT error, error_type, sum(n) AS count
FROM (
    SELECT
        left(coalesce(nullIf("StatusMessage", ''), "ErrorType", 'unknown error'), 100) AS error,
        "ErrorType" AS error_type, count(*) AS n
    FROM crewscope_tasks
    WHERE $source = 'spans' AND "AgentName" = $agent AND "Failed"
      AND "Timestamp" BETWEEN $start AND $end
    GROUP BY error, error_type
)
GROUP BY error, error_type
ORDER BY count DESC, error
LIMIT 5
