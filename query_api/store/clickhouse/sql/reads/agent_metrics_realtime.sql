-- ClickHouse text of store/sql/reads/agent_metrics_realtime.sql. The agent's executions in
-- [$start, $end] are read once (a range of the task rows, sorted by start): counts,
-- durations, tokens, percentiles and, per hour of their start, the trend's halves. The cost
-- of its LLM calls comes from the hourly sums of the whole hours [$h_from, $h_to) plus the
-- raw calls of the edges, priced per model.
WITH calls AS (
    SELECT "Operation" AS op, "Model" AS model, "ProviderName" AS provider,
           "PricedCalls" AS priced, "InputTokens" AS i, "OutputTokens" AS o,
           "CacheRead" AS cr, "CacheWrite" AS cw
    FROM crewscope_llm_hourly_sums
    WHERE "AgentName" = $agent AND "Hour" >= $h_from AND "Hour" < $h_to
    UNION ALL
    SELECT "Operation", coalesce("Model", ''), coalesce("ProviderName", ''),
           toUInt64(crewscope_priced("Operation", "Model", "InputTokens", "OutputTokens")),
           coalesce("InputTokens", 0), coalesce("OutputTokens", 0), coalesce("CacheRead", 0),
           coalesce("CacheWrite", 0)
    FROM crewscope_llm_call_rows
    WHERE "AgentName" = $agent
      AND (("Timestamp" >= $start AND "Timestamp" < $h_from)
           OR ("Timestamp" >= $h_to AND "Timestamp" <= $end))
),
runs AS (
    SELECT
        count(*) AS n,
        countIf(NOT "Failed") AS ok,
        sum("DurationMs") AS sum_ms,
        min("DurationMs") AS min_ms,
        max("DurationMs") AS max_ms,
        quantilesExactInclusive(0.5, 0.95, 0.99)("DurationMs") AS q,
        coalesce(sum("InputTokens"), 0) AS input_tokens,
        coalesce(sum("OutputTokens"), 0) AS output_tokens,
        -- per hour, in hour order: executions and successful ones
        sumMap([toStartOfHour("Timestamp")], [toUInt64(1)], [toUInt64(NOT "Failed")]) AS hours
    FROM crewscope_task_rows
    WHERE "AgentName" = $agent AND "Timestamp" BETWEEN $start AND $end
),
-- the trend: success rate of the older half of the executions vs the newer half, at hour
-- resolution (an hour is older when fewer than half of the executions came before it)
halves AS (
    SELECT *, hours.2 AS bn, hours.3 AS bok,
           arrayMap(e -> e < arraySum(bn) / 2, arrayCumSum(bn) - bn) AS older
    FROM runs
)
SELECT
    coalesce(n, 0) AS n,
    coalesce(ok, 0) AS ok,
    sum_ms,
    min_ms,
    max_ms,
    if(n = 0, NULL, q) AS q,
    input_tokens,
    output_tokens,
    (SELECT sum(c) FROM (
        SELECT crewscope_sums_cost(currentDatabase() || '.crewscope_prices_dict', op, model,
                                   provider, sum(priced), sum(i), sum(o), sum(cr), sum(cw)) AS c
        FROM calls GROUP BY op, model, provider
    )) AS cost_usd,
    if(has(older, true),
       arraySum(arrayFilter((k, old) -> old, bok, older))
       / arraySum(arrayFilter((k, old) -> old, bn, older)), NULL) AS first_rate,
    if(has(older, false),
       arraySum(arrayFilter((k, old) -> NOT old, bok, older))
       / arraySum(arrayFilter((k, old) -> NOT old, bn, older)), NULL) AS second_rate
FROM halves
