-- ClickHouse text of store/sql/reads/token_series.sql: LLM calls per time bucket of
-- $width_s seconds in [$start, $end], tokens and cost, optionally split by model, agent or
-- crew ($group_by; NULL key when not split). The spans view, as the LLM-call projection
-- has no crew.
SELECT
    toStartOfInterval("Timestamp", toIntervalSecond($width_s), 'UTC') AS bucket,
    multiIf($group_by = 'model', "Model", $group_by = 'agent', "AgentName",
            $group_by = 'crew', "CrewName", CAST(NULL, 'Nullable(String)')) AS "key",
    count(*) AS calls,
    countIf("StatusCode" = 'Error') AS errors,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens,
    sum("CostUsd") AS cost_usd,
    count("CostUsd") AS priced_calls
FROM crewscope_spans
WHERE "Timestamp" BETWEEN $start AND $end
  AND has($llm_ops, "GenAiOperation")
  AND ($model IS NULL OR "Model" = $model)
  AND ($agent IS NULL OR "AgentName" = $agent)
  AND ($crew IS NULL OR "CrewName" = $crew)
GROUP BY bucket, "key"
ORDER BY "key" NULLS FIRST, bucket
