-- Give the tasks in crewscope_tasks (started in [$c_from, $c_to]: constants, so only those
-- row groups are read) the task and crew names late_agents.sql found for them.
UPDATE crewscope_tasks AS t
SET "TaskName" = coalesce(t."TaskName", r.task), "CrewName" = coalesce(t."CrewName", r.crew)
FROM crewscope_late_context r
WHERE r.kind = 'task' AND r."TraceId" = t."TraceId" AND r."SpanId" = t."SpanId"
  AND t."Timestamp" BETWEEN $c_from AND $c_to
  AND ((t."TaskName" IS NULL AND r.task IS NOT NULL) OR (t."CrewName" IS NULL AND r.crew IS NOT NULL))
