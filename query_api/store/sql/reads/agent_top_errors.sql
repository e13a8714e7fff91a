-- One agent's most frequent errors: realtime from the task projection ($source = 'spans')
-- or from the daily error rollup.
SELECT error, error_type, sum(n) AS count
FROM (
    SELECT
        left(coalesce(nullif("StatusMessage", ''), "ErrorType", 'unknown error'), 100) AS error,
        "ErrorType" AS error_type, count(*) AS n
    FROM crewscope_tasks
    WHERE $source = 'spans' AND "AgentName" = $agent AND "Failed"
      AND "Timestamp" BETWEEN $start AND $end
    GROUP BY ALL
    UNION ALL
    SELECT "Error", "ErrorType", "Count"
    FROM crewscope_rollup_agent_errors_daily
    WHERE $source = 'rollup' AND "AgentName" = $agent AND "Day" BETWEEN $day_from AND $day_to
)
GROUP BY ALL
ORDER BY count DESC, error
LIMIT 5
