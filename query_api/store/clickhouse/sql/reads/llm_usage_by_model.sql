-- ClickHouse text of store/sql/reads/llm_usage_by_model.sql (DuckDB's quantile_cont is
-- quantileExactInclusive).
SELECT
    "Model" AS model,
    "ProviderName" AS provider,
    count(*) AS calls,
    count(*) FILTER (WHERE "Failed") AS errors,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens,
    sum("CostUsd") AS cost_usd,
    count("CostUsd") AS priced_calls,
    avg("Duration") / 1e6 AS avg_ms,
    quantileExactInclusive(0.5)("Duration") / 1e6 AS p50_ms,
    quantileExactInclusive(0.95)("Duration") / 1e6 AS p95_ms
FROM crewscope_llm_calls
WHERE "Timestamp" BETWEEN $start AND $end
  AND ($agent IS NULL OR "AgentName" = $agent)
GROUP BY model, provider
ORDER BY calls DESC, model
