-- One task execution by its span id.
SELECT * FROM crewscope_tasks WHERE "SpanId" = $task_id LIMIT 1
