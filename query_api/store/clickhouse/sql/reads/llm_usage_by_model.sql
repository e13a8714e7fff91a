-- ClickHouse text of store/sql/reads/llm_usage_by_model.sql (DuckDB's quantile_cont is
-- quantileExactInclusive). Calls are summed per model and operation first and priced per
-- sum; a model's priced calls are those a price applies to (none while it has no price).
SELECT model, provider, calls, errors, input_tokens, output_tokens, cost_usd, priced_calls,
       avg_ms, q[1] / 1e6 AS p50_ms, q[2] / 1e6 AS p95_ms
FROM (
SELECT
    model,
    provider,
    sum(n) AS calls,
    sum(failed) AS errors,
    coalesce(sum(in_t), 0) AS input_tokens,
    coalesce(sum(out_t), 0) AS output_tokens,
    sum(cost) AS cost_usd,
    sum(if(cost IS NULL, 0, priced)) AS priced_calls,
    sum(ns) / sum(n) / 1e6 AS avg_ms,
    quantilesExactInclusiveMerge(0.5, 0.95)(durations) AS q
FROM (
    SELECT
        "Model" AS model, "ProviderName" AS provider, count(*) AS n,
        countIf("Failed") AS failed, sum("InputTokens") AS in_t, sum("OutputTokens") AS out_t,
        countIf(crewscope_priced("Operation", "Model", "InputTokens", "OutputTokens")) AS priced,
        crewscope_sums_cost(currentDatabase() || '.crewscope_prices_dict', "Operation",
                            coalesce(model, ''), coalesce(provider, ''), priced,
                            sum(coalesce("InputTokens", 0)), sum(coalesce("OutputTokens", 0)),
                            sum(coalesce("CacheRead", 0)), sum(coalesce("CacheWrite", 0))) AS cost,
        sum("Duration") AS ns,
        quantilesExactInclusiveState(0.5, 0.95)("Duration") AS durations
    FROM crewscope_llm_call_rows
    WHERE "Timestamp" BETWEEN $start AND $end
      AND ($agent IS NULL OR "AgentName" = $agent)
    GROUP BY model, provider, "Operation"
)
GROUP BY model, provider
)
ORDER BY calls DESC, model
