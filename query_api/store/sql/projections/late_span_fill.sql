-- Give the spans in otel_traces (started in [$c_from, $c_to]: constants, so only those row
-- groups are read) the agent, task and crew late_agents.sql found, where they name none:
-- what row conversion stores when the enclosing spans come first, so every read of the
-- spans (an agent's activity, a run's span tree, series by agent or crew) sees them, and a
-- rebuild of the projections copies what the sync filled in. Rowids stay as they are.
UPDATE otel_traces AS t
SET "AgentName" = coalesce(t."AgentName", r.agent),
    "TaskName" = coalesce(t."TaskName", r.task),
    "CrewName" = coalesce(t."CrewName", r.crew)
FROM crewscope_late_context r
WHERE r."TraceId" = t."TraceId" AND r."SpanId" = t."SpanId"
  AND t."Timestamp" BETWEEN $c_from AND $c_to
