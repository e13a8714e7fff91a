-- LLM calls per time bucket of $width_s seconds in [$start, $end]: tokens and cost, optionally
-- split by model, agent or crew ($group_by; NULL key when not split).
SELECT
    crewscope_bucket("Timestamp", $width_s) AS bucket,
    CASE $group_by
        WHEN 'model' THEN "Model"
        WHEN 'agent' THEN "AgentName"
        WHEN 'crew' THEN "CrewName"
    END AS "key",
    count(*) AS calls,
    count(*) FILTER (WHERE "StatusCode" = 'Error') AS errors,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens,
    sum("CostUsd") AS cost_usd,
    count("CostUsd") AS priced_calls
FROM crewscope_spans
WHERE "Timestamp" BETWEEN $start AND $end
  AND "GenAiOperation" IN (SELECT unnest($llm_ops))
  AND ($model IS NULL OR "Model" = $model)
  AND ($agent IS NULL OR "AgentName" = $agent)
  AND ($crew IS NULL OR "CrewName" = $crew)
GROUP BY ALL
ORDER BY "key" NULLS FIRST, bucket
