-- ClickHouse text of store/sql/reads/task_by_id.sql.
SELECT * FROM crewscope_tasks WHERE "SpanId" = $task_id LIMIT 1
