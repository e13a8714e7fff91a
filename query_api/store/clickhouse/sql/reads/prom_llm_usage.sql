-- ClickHouse text of store/sql/reads/prom_llm_usage.sql (cost priced at read time, as
-- crewscope_spans prices every LLM call).
SELECT
    coalesce("Model", '') AS model,
    count(*) AS calls,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens,
    coalesce(sum("CostUsd"), 0) AS cost_usd
FROM crewscope_spans
WHERE has($llm_ops, "GenAiOperation")
GROUP BY model
