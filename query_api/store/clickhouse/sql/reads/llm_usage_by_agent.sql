-- ClickHouse text of store/sql/reads/llm_usage_by_agent.sql.
SELECT
    "AgentName" AS agent,
    count(*) AS calls,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens,
    sum("CostUsd") AS cost_usd
FROM crewscope_llm_calls
WHERE "Timestamp" BETWEEN $start AND $end
  AND ($agent IS NULL OR "AgentName" = $agent)
GROUP BY ALL
ORDER BY calls DESC, agent
