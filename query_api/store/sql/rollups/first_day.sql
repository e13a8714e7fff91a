-- The first day with a task or run stored: where a full rollup refresh starts.
SELECT min(d) FROM (
    SELECT min("Timestamp")::DATE AS d FROM crewscope_tasks
    UNION ALL SELECT min("Timestamp")::DATE FROM crewscope_runs
)
