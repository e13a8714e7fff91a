-- The no-agent rows ('') left with executions but no LLM call in those hours: no cost (NULL,
-- as a rebuild sums it) instead of what the moves left (0 or a rounding residue).
UPDATE crewscope_agent_hourly SET "CostUsd" = NULL
WHERE "AgentName" = '' AND "Hour" BETWEEN date_trunc('hour', $c_from) AND $c_to
  AND "LlmCalls" = 0 AND "CostUsd" IS NOT NULL
