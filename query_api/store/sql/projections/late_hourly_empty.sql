-- The no-agent rows ('') of crewscope_agent_hourly in the hours of the calls given an agent
-- ([$c_from, $c_to]) that hold nothing any more: the calls moved out, no execution in. A
-- rebuild (which copies the calls with their agent) makes no such row.
DELETE FROM crewscope_agent_hourly
WHERE "AgentName" = '' AND "Hour" BETWEEN date_trunc('hour', $c_from) AND $c_to
  AND "Executions" = 0 AND "LlmCalls" = 0
