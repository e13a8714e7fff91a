-- Prometheus /metrics: LLM calls, tokens and cost per model over all stored LLM-call spans
-- (on ClickHouse, crewscope_spans prices every LLM call at read time).
SELECT
    coalesce("Model", '') AS model,
    count(*) AS calls,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens,
    coalesce(sum("CostUsd"), 0) AS cost_usd
FROM crewscope_spans
WHERE "GenAiOperation" IN (SELECT unnest($llm_ops))
GROUP BY ALL
