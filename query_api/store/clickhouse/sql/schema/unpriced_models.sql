-- (provider, model) pairs of LLM calls that crewscope_prices has no row for.
SELECT DISTINCT coalesce("ProviderName", '') AS provider, "Model" AS model
FROM crewscope_llm_call_rows
WHERE "Model" IS NOT NULL
  AND (coalesce("ProviderName", ''), "Model") NOT IN (SELECT "Provider", "Model" FROM crewscope_prices)
