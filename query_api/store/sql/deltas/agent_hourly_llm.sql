-- Hourly LLM calls and cost per agent of the LLM-call spans with rowid in [$lo, $hi],
-- merged into crewscope_agent_hourly (sum_tables.py); same rows as crewscope_llm_calls.
SELECT
    date_trunc('hour', "Timestamp") AS "Hour",
    coalesce("AgentName", '') AS "AgentName",
    count(*) AS "LlmCalls",
    sum("CostUsd") AS "CostUsd"
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND list_contains($llm_ops, "GenAiOperation")
GROUP BY ALL
