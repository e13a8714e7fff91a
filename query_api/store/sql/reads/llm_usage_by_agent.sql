-- LLM calls per agent in [$start, $end] (optionally for one agent).
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
