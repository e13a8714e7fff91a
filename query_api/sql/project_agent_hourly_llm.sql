-- Add the LLM-call spans with rowid in [$lo, $hi] to crewscope_agent_hourly (calls and
-- cost per agent and hour; same rows as crewscope_llm_calls).
INSERT INTO crewscope_agent_hourly ("Hour", "AgentName", "LlmCalls", "CostUsd")
SELECT
    date_trunc('hour', "Timestamp"),
    coalesce("AgentName", ''),
    count(*),
    sum("CostUsd")
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND list_contains($llm_ops, "GenAiOperation")
GROUP BY ALL
ON CONFLICT ("Hour", "AgentName") DO UPDATE SET
    "LlmCalls" = crewscope_agent_hourly."LlmCalls" + EXCLUDED."LlmCalls",
    "CostUsd" = coalesce(
        crewscope_agent_hourly."CostUsd" + EXCLUDED."CostUsd",
        crewscope_agent_hourly."CostUsd",
        EXCLUDED."CostUsd"
    )
