-- ClickHouse text of store/sql/reads/llm_usage_by_agent.sql: the hourly LLM sums of the
-- whole hours [h_from, h_to) of [$start, $end] plus the raw calls of its edges, summed per
-- agent and model, then priced per sum.
WITH
    toStartOfHour($start) AS s_hour,
    if(s_hour = $start, $start, s_hour + toIntervalHour(1)) AS first_whole,
    toStartOfHour($end) AS last_start,
    if(first_whole < last_start, first_whole, $start) AS h_from,
    if(first_whole < last_start, last_start, $start) AS h_to
SELECT agent, toUInt64(sum(n)) AS calls, coalesce(sum(in_t), 0) AS input_tokens,
       coalesce(sum(out_t), 0) AS output_tokens, sum(cost) AS cost_usd
FROM (
    SELECT
        agent, sum(n) AS n, sum(in_t) AS in_t, sum(out_t) AS out_t,
        crewscope_sums_cost(currentDatabase() || '.crewscope_prices_dict', op, model, provider,
                            sum(priced), sum(i), sum(o), sum(cr), sum(cw)) AS cost
    FROM (
        SELECT nullIf("AgentName", '') AS agent, "Operation" AS op, "Model" AS model,
               "ProviderName" AS provider, "Calls" AS n, "InputTokens" AS in_t,
               "OutputTokens" AS out_t, "PricedCalls" AS priced, "InputTokens" AS i,
               "OutputTokens" AS o, "CacheRead" AS cr, "CacheWrite" AS cw
        FROM crewscope_llm_hourly_sums
        WHERE "Hour" >= h_from AND "Hour" < h_to
          AND ($agent IS NULL OR "AgentName" = $agent)
        UNION ALL
        SELECT "AgentName", "Operation", coalesce("Model", ''), coalesce("ProviderName", ''),
               1, "InputTokens", "OutputTokens",
               toUInt64(crewscope_priced("Operation", "Model", "InputTokens", "OutputTokens")),
               coalesce("InputTokens", 0), coalesce("OutputTokens", 0), coalesce("CacheRead", 0),
               coalesce("CacheWrite", 0)
        FROM crewscope_llm_call_rows
        WHERE (("Timestamp" >= $start AND "Timestamp" < h_from)
               OR ("Timestamp" >= h_to AND "Timestamp" <= $end))
          AND ($agent IS NULL OR "AgentName" = $agent)
    )
    GROUP BY agent, op, model, provider
)
GROUP BY agent
HAVING calls > 0  -- a no-agent bucket its calls moved out of (a later span named their agent)
ORDER BY calls DESC, agent
