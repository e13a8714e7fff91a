-- Give the calls of kind $kind in {{table}} the agents late_agents.sql found (started in
-- [$c_from, $c_to]: constants, so only those row groups are read).
UPDATE {{table}} AS c SET "AgentName" = r."AgentName"
FROM crewscope_late_agents r
WHERE r.kind = $kind AND r."TraceId" = c."TraceId" AND r."SpanId" = c."SpanId"
  AND c."AgentName" IS NULL AND c."Timestamp" BETWEEN $c_from AND $c_to
