-- ClickHouse text of store/sql/reads/run_list.sql (the page: reads/run_page.sql). The
-- per-run totals of the page's run and trace ids (priced for those only) are read once, into
-- a map from id to totals: a run's own totals, else its trace's (for runs whose spans name
-- no run).
WITH page AS {{page}},
totals AS (
    SELECT rid, sum(n) AS spans, sum(n_tasks) AS tasks, sum(n_steps) AS steps,
           sum(n_llm) AS llm_calls, sum(n_tools) AS tool_calls, sum(n_errors) AS errors,
           sum(c) AS cost
    FROM (
        SELECT "RunId" AS rid, toInt64(sum("Spans")) AS n, toInt64(sum("Tasks")) AS n_tasks,
               toInt64(sum("Steps")) AS n_steps, toInt64(sum("LlmCalls")) AS n_llm,
               toInt64(sum("ToolCalls")) AS n_tools, toInt64(sum("Errors")) AS n_errors,
               crewscope_sums_cost(currentDatabase() || '.crewscope_prices_dict', "Operation",
                                   "Model", "ProviderName", sum("PricedCalls"),
                                   sum("InputTokens"), sum("OutputTokens"), sum("CacheRead"),
                                   sum("CacheWrite")) AS c
        FROM crewscope_run_sums
        WHERE "RunId" IN (SELECT arrayJoin(["SpanId", "TraceId"]) FROM page)
        GROUP BY "RunId", "Operation", "Model", "ProviderName"
    )
    GROUP BY rid
),
(SELECT mapFromArrays(groupArray(rid),
                      groupArray(tuple(spans, tasks, steps, llm_calls, tool_calls, errors, cost)))
 FROM totals) AS m
SELECT
    page.* EXCEPT (totals_id, found, totals),
    if(found, totals.1, NULL) AS tt_spans,
    if(found, totals.2, NULL) AS tt_tasks,
    if(found, totals.3, NULL) AS tt_steps,
    if(found, totals.4, NULL) AS tt_llm_calls,
    if(found, totals.5, NULL) AS tt_tool_calls,
    if(found, totals.6, NULL) AS tt_errors,
    if(found, totals.7, NULL) AS tt_cost_usd
FROM (  -- totals_id: the run's own id if it has totals, else its trace's (looked up once)
    SELECT *, if(mapContains(m, "SpanId"), "SpanId", "TraceId") AS totals_id,
           mapContains(m, totals_id) AS found, m[totals_id] AS totals
    FROM page
) AS page
ORDER BY
    CASE WHEN $desc THEN page.{{sort}} END DESC NULLS LAST,
    CASE WHEN NOT $desc THEN page.{{sort}} END ASC NULLS LAST,
    page."SpanId"
