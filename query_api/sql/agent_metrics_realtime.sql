-- One agent's task executions in [$start, $end], from the task projection.
WITH e AS (
    SELECT
        "Failed", "DurationMs", "InputTokens", "OutputTokens",
        row_number() OVER (ORDER BY "Timestamp", "SpanId") AS rn,
        count(*) OVER () AS total
    FROM crewscope_tasks
    WHERE "AgentName" = $agent AND "Timestamp" BETWEEN $start AND $end
)
SELECT
    count(*) AS n,
    count(*) FILTER (WHERE NOT "Failed") AS ok,
    sum("DurationMs") AS sum_ms,
    min("DurationMs") AS min_ms,
    max("DurationMs") AS max_ms,
    quantile_cont("DurationMs", [0.5, 0.95, 0.99]) AS q,
    coalesce(sum("InputTokens"), 0) AS input_tokens,
    coalesce(sum("OutputTokens"), 0) AS output_tokens,
    -- seed 004's trend: success rate of the older half of executions vs the newer half
    avg(CASE WHEN "Failed" THEN 0.0 ELSE 1.0 END) FILTER (WHERE rn <= total // 2) AS first_rate,
    avg(CASE WHEN "Failed" THEN 0.0 ELSE 1.0 END) FILTER (WHERE rn > total // 2) AS second_rate
FROM e
