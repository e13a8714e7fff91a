-- ClickHouse text of store/sql/rollups/first_day.sql: the first day with a task or run.
SELECT min(d) FROM (
    SELECT toDate(min("Timestamp"), 'UTC') AS d FROM crewscope_tasks HAVING count() > 0
    UNION ALL SELECT toDate(min("Timestamp"), 'UTC') FROM crewscope_runs HAVING count() > 0
)
