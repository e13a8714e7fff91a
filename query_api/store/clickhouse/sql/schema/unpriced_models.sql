-- (provider, model) pairs of LLM calls (crewscope_call_models) that crewscope_prices has no
-- row for.
SELECT DISTINCT "Provider" AS provider, "Model" AS model
FROM crewscope_call_models
WHERE ("Provider", "Model") NOT IN (SELECT "Provider", "Model" FROM crewscope_prices)
