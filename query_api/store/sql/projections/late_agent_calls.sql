-- The LLM and tool calls late_agents.sql gave an agent they had none of, as
-- deltas/agent_hourly_moves.sql and late_agent_fill.sql read them.
CREATE OR REPLACE TEMP TABLE crewscope_late_agents AS
SELECT kind, "TraceId", "SpanId", agent AS "AgentName"
FROM crewscope_late_context
WHERE new_agent
