-- ClickHouse text of store/sql/reads/llm_usage_by_agent.sql: the calls are summed per agent
-- and model first, and priced per sum.
SELECT agent, sum(n) AS calls, coalesce(sum(in_t), 0) AS input_tokens,
       coalesce(sum(out_t), 0) AS output_tokens, sum(cost) AS cost_usd
FROM (
    SELECT
        "AgentName" AS agent, count(*) AS n, sum("InputTokens") AS in_t,
        sum("OutputTokens") AS out_t,
        crewscope_sums_cost(currentDatabase() || '.crewscope_prices_dict', "Operation",
                            coalesce("Model", ''), coalesce("ProviderName", ''),
                            countIf(crewscope_priced("Operation", "Model", "InputTokens",
                                                     "OutputTokens")),
                            sum(coalesce("InputTokens", 0)), sum(coalesce("OutputTokens", 0)),
                            sum(coalesce("CacheRead", 0)), sum(coalesce("CacheWrite", 0))) AS cost
    FROM crewscope_llm_call_rows
    WHERE "Timestamp" BETWEEN $start AND $end
      AND ($agent IS NULL OR "AgentName" = $agent)
    GROUP BY agent, "Operation", "Model", "ProviderName"
)
GROUP BY agent
ORDER BY calls DESC, agent
