-- Prometheus /metrics: LLM calls, tokens and cost per model over all stored LLM-call spans.
SELECT
    coalesce("Model", '') AS model,
    count(*) AS calls,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens,
    coalesce(sum("CostUsd"), 0) AS cost_usd
FROM otel_traces
WHERE "GenAiOperation" IN (SELECT unnest($llm_ops))
GROUP BY ALL
