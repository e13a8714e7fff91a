-- ClickHouse text of store/sql/reads/run_totals.sql: the per-run sums of the runs and
-- traces $ids names, priced for those only (the crewscope_run_totals view prices every
-- run's sums before the filter reaches them).
SELECT "RunId",
       toInt64(sum(n)) AS "Spans", toInt64(sum(n_tasks)) AS "Tasks",
       toInt64(sum(n_steps)) AS "Steps", toInt64(sum(n_llm)) AS "LlmCalls",
       toInt64(sum(n_tools)) AS "ToolCalls", toInt64(sum(n_errors)) AS "Errors",
       sum(c) AS "CostUsd"
FROM (
    SELECT "RunId", sum("Spans") AS n, sum("Tasks") AS n_tasks, sum("Steps") AS n_steps,
           sum("LlmCalls") AS n_llm, sum("ToolCalls") AS n_tools, sum("Errors") AS n_errors,
           crewscope_sums_cost(currentDatabase() || '.crewscope_prices_dict', "Operation",
                               "Model", "ProviderName", sum("PricedCalls"),
                               sum("InputTokens"), sum("OutputTokens"), sum("CacheRead"),
                               sum("CacheWrite")) AS c
    FROM crewscope_run_sums
    WHERE has($ids, "RunId")
    GROUP BY "RunId", "Operation", "Model", "ProviderName"
)
GROUP BY "RunId"
