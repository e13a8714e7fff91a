-- Hourly sums and daily rollups, derived inside ClickHouse (loaded after schema.sql).
--
-- On DuckDB a job in the serve process adds each synced span to the hourly sums
-- (store/sum_tables.py) and recomputes the daily rollups (jobs/rollups.py). Here every
-- one of them is kept by materialized views on the projection tables of schema.sql (which
-- their own views fill on every insert into otel_traces), so a span counts in its hour and
-- its day as soon as it is inserted, by whichever writer, and every query process reads
-- the same sums. The tables are AggregatingMergeTree: an insert adds a partial row per
-- key, background merges combine them, and reads aggregate again (sum of sums, min of
-- mins, max of maxes, -Merge of the exact quantile states, which keep every duration, so
-- percentiles over several days equal those over the raw rows). Reads never rely on a
-- merge having happened (nor on a key living on one shard of a cluster). Cost is kept as
-- token sums per model and priced at read time through crewscope_prices_dict, as in
-- crewscope_run_sums. '' stands for "no agent" / "no name" in key columns.
--
-- The hourly tables ("Hour") are dropped by retention's TTL with the spans; the daily ones
-- ("Day") are kept, as DuckDB keeps its rollups (retention.py). The views at the end give
-- the queries the column sets of DuckDB's crewscope_agent_hourly, crewscope_run_hourly and
-- crewscope_rollup_* tables; "RefreshedAt" of a rollup row is when a span last counted in
-- it. On a store made before a table existed (or with another layout of it), opening
-- refills it from its source rows (layout.py); otherwise the tables fill as spans arrive.

-- Task executions (invoke_agent spans) per hour of their start and agent.
CREATE TABLE IF NOT EXISTS crewscope_agent_hourly_sums (
    "Hour"         DateTime('UTC'),
    "AgentName"    String,
    "Executions"   SimpleAggregateFunction(sum, UInt64),
    "Failed"       SimpleAggregateFunction(sum, UInt64),
    "SumMs"        SimpleAggregateFunction(sum, Float64),
    "MinMs"        SimpleAggregateFunction(min, Float64),
    "MaxMs"        SimpleAggregateFunction(max, Float64),
    "InputTokens"  SimpleAggregateFunction(sum, Int64),
    "OutputTokens" SimpleAggregateFunction(sum, Int64),
    "LastTs"       SimpleAggregateFunction(max, DateTime64(9))
) ENGINE = AggregatingMergeTree ORDER BY ("Hour", "AgentName");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_agent_hourly_sums_mv TO crewscope_agent_hourly_sums AS
SELECT
    toStartOfHour(src."Timestamp", 'UTC') AS "Hour",
    coalesce(src."AgentName", '') AS "AgentName",
    count() AS "Executions",
    countIf(src."Failed") AS "Failed",
    sum(src."DurationMs") AS "SumMs",
    min(src."DurationMs") AS "MinMs",
    max(src."DurationMs") AS "MaxMs",
    toInt64(sum(coalesce(src."InputTokens", 0))) AS "InputTokens",
    toInt64(sum(coalesce(src."OutputTokens", 0))) AS "OutputTokens",
    max(src."Timestamp") AS "LastTs"
FROM crewscope_task_rows AS src
GROUP BY "Hour", "AgentName";

-- LLM calls per hour, agent and what prices them.
CREATE TABLE IF NOT EXISTS crewscope_llm_hourly_sums (
    "Hour"         DateTime('UTC'),
    "AgentName"    String,
    "Operation"    LowCardinality(String),
    "Model"        String,
    "ProviderName" String,
    "Calls"        SimpleAggregateFunction(sum, UInt64),
    "Errors"       SimpleAggregateFunction(sum, UInt64),
    "PricedCalls"  SimpleAggregateFunction(sum, UInt64),
    "InputTokens"  SimpleAggregateFunction(sum, Int64),
    "OutputTokens" SimpleAggregateFunction(sum, Int64),
    "CacheRead"    SimpleAggregateFunction(sum, Int64),
    "CacheWrite"   SimpleAggregateFunction(sum, Int64)
) ENGINE = AggregatingMergeTree ORDER BY ("Hour", "AgentName", "Operation", "Model", "ProviderName");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_llm_hourly_sums_mv TO crewscope_llm_hourly_sums AS
SELECT
    toStartOfHour(src."Timestamp", 'UTC') AS "Hour",
    coalesce(src."AgentName", '') AS "AgentName",
    src."Operation" AS "Operation",
    coalesce(src."Model", '') AS "Model",
    coalesce(src."ProviderName", '') AS "ProviderName",
    count() AS "Calls",
    countIf(src."Failed") AS "Errors",
    -- the calls crewscope_sums_cost prices when their model has a price
    countIf(src."Model" IS NOT NULL
            AND (src."InputTokens" IS NOT NULL
                 OR (src."OutputTokens" IS NOT NULL AND src."Operation" != 'embeddings'))) AS "PricedCalls",
    toInt64(sum(coalesce(src."InputTokens", 0))) AS "InputTokens",
    toInt64(sum(coalesce(src."OutputTokens", 0))) AS "OutputTokens",
    toInt64(sum(coalesce(src."CacheRead", 0))) AS "CacheRead",
    toInt64(sum(coalesce(src."CacheWrite", 0))) AS "CacheWrite"
FROM crewscope_llm_call_rows AS src
GROUP BY "Hour", "AgentName", "Operation", "Model", "ProviderName";

-- Top-level runs (flow, crew and agent kickoffs not nested in another run) per hour of
-- their start, kind and name (DuckDB's deltas/run_hourly.sql).
CREATE TABLE IF NOT EXISTS crewscope_run_hourly_sums (
    "Hour"         DateTime('UTC'),
    "Kind"         LowCardinality(String),
    "Name"         String,
    "Runs"         SimpleAggregateFunction(sum, UInt64),
    "Failed"       SimpleAggregateFunction(sum, UInt64),
    "InputTokens"  SimpleAggregateFunction(sum, Int64),
    "OutputTokens" SimpleAggregateFunction(sum, Int64)
) ENGINE = AggregatingMergeTree ORDER BY ("Hour", "Kind", "Name");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_run_hourly_sums_mv TO crewscope_run_hourly_sums AS
SELECT
    toStartOfHour(src."Timestamp", 'UTC') AS "Hour",
    src."Kind" AS "Kind",
    coalesce(src."Name", '') AS "Name",
    count() AS "Runs",
    countIf(src."Failed") AS "Failed",
    toInt64(sum(coalesce(src."InputTokens", 0))) AS "InputTokens",
    toInt64(sum(coalesce(src."OutputTokens", 0))) AS "OutputTokens"
FROM crewscope_run_rows AS src
WHERE src."ParentRunId" IS NULL
GROUP BY "Hour", "Kind", "Name";

-- Task executions per day of their start and agent (DuckDB's rollups/agent_daily.sql).
CREATE TABLE IF NOT EXISTS crewscope_agent_daily_sums (
    "Day"          Date,
    "AgentName"    String,
    "Executions"   SimpleAggregateFunction(sum, UInt64),
    "Failed"       SimpleAggregateFunction(sum, UInt64),
    "SumMs"        SimpleAggregateFunction(sum, Float64),
    "MinMs"        SimpleAggregateFunction(min, Float64),
    "MaxMs"        SimpleAggregateFunction(max, Float64),
    "InputTokens"  SimpleAggregateFunction(sum, Int64),
    "OutputTokens" SimpleAggregateFunction(sum, Int64),
    "Durations"    AggregateFunction(quantilesExactInclusive(0.5, 0.95, 0.99), Float64),
    "Updated"      SimpleAggregateFunction(max, DateTime64(3))
) ENGINE = AggregatingMergeTree ORDER BY ("Day", "AgentName");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_agent_daily_sums_mv TO crewscope_agent_daily_sums AS
SELECT
    toDate(src."Timestamp", 'UTC') AS "Day",
    coalesce(src."AgentName", '') AS "AgentName",
    count() AS "Executions",
    countIf(src."Failed") AS "Failed",
    sum(src."DurationMs") AS "SumMs",
    min(src."DurationMs") AS "MinMs",
    max(src."DurationMs") AS "MaxMs",
    toInt64(sum(coalesce(src."InputTokens", 0))) AS "InputTokens",
    toInt64(sum(coalesce(src."OutputTokens", 0))) AS "OutputTokens",
    quantilesExactInclusiveState(0.5, 0.95, 0.99)(src."DurationMs") AS "Durations",
    now64(3) AS "Updated"
FROM crewscope_task_rows AS src
WHERE src."AgentName" IS NOT NULL
GROUP BY "Day", "AgentName";

-- LLM calls per day, agent and what prices them (the cost of DuckDB's agent rollup rows).
CREATE TABLE IF NOT EXISTS crewscope_llm_daily_sums (
    "Day"          Date,
    "AgentName"    String,
    "Operation"    LowCardinality(String),
    "Model"        String,
    "ProviderName" String,
    "PricedCalls"  SimpleAggregateFunction(sum, UInt64),
    "InputTokens"  SimpleAggregateFunction(sum, Int64),
    "OutputTokens" SimpleAggregateFunction(sum, Int64),
    "CacheRead"    SimpleAggregateFunction(sum, Int64),
    "CacheWrite"   SimpleAggregateFunction(sum, Int64),
    "Updated"      SimpleAggregateFunction(max, DateTime64(3))
) ENGINE = AggregatingMergeTree ORDER BY ("Day", "AgentName", "Operation", "Model", "ProviderName");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_llm_daily_sums_mv TO crewscope_llm_daily_sums AS
SELECT
    toDate(src."Timestamp", 'UTC') AS "Day",
    coalesce(src."AgentName", '') AS "AgentName",
    src."Operation" AS "Operation",
    coalesce(src."Model", '') AS "Model",
    coalesce(src."ProviderName", '') AS "ProviderName",
    countIf(src."Model" IS NOT NULL
            AND (src."InputTokens" IS NOT NULL
                 OR (src."OutputTokens" IS NOT NULL AND src."Operation" != 'embeddings'))) AS "PricedCalls",
    toInt64(sum(coalesce(src."InputTokens", 0))) AS "InputTokens",
    toInt64(sum(coalesce(src."OutputTokens", 0))) AS "OutputTokens",
    toInt64(sum(coalesce(src."CacheRead", 0))) AS "CacheRead",
    toInt64(sum(coalesce(src."CacheWrite", 0))) AS "CacheWrite",
    now64(3) AS "Updated"
FROM crewscope_llm_call_rows AS src
WHERE src."AgentName" IS NOT NULL
GROUP BY "Day", "AgentName", "Operation", "Model", "ProviderName";

-- Crew runs (top-level or nested in a flow) per day of their start and crew (DuckDB's
-- rollups/crew_daily.sql but for the cost, read per run: see crewscope_rollup_crew_daily).
CREATE TABLE IF NOT EXISTS crewscope_crew_daily_sums (
    "Day"          Date,
    "CrewName"     String,
    "Runs"         SimpleAggregateFunction(sum, UInt64),
    "Failed"       SimpleAggregateFunction(sum, UInt64),
    "SumMs"        SimpleAggregateFunction(sum, Float64),
    "MinMs"        SimpleAggregateFunction(min, Float64),
    "MaxMs"        SimpleAggregateFunction(max, Float64),
    "InputTokens"  SimpleAggregateFunction(sum, Int64),
    "OutputTokens" SimpleAggregateFunction(sum, Int64),
    "Durations"    AggregateFunction(quantilesExactInclusive(0.5, 0.95, 0.99), Float64),
    "Updated"      SimpleAggregateFunction(max, DateTime64(3))
) ENGINE = AggregatingMergeTree ORDER BY ("Day", "CrewName");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_crew_daily_sums_mv TO crewscope_crew_daily_sums AS
SELECT
    toDate(src."Timestamp", 'UTC') AS "Day",
    coalesce(src."CrewName", '') AS "CrewName",
    count() AS "Runs",
    countIf(src."Failed") AS "Failed",
    sum(src."DurationMs") AS "SumMs",
    min(src."DurationMs") AS "MinMs",
    max(src."DurationMs") AS "MaxMs",
    toInt64(sum(coalesce(src."InputTokens", 0))) AS "InputTokens",
    toInt64(sum(coalesce(src."OutputTokens", 0))) AS "OutputTokens",
    quantilesExactInclusiveState(0.5, 0.95, 0.99)(src."DurationMs") AS "Durations",
    now64(3) AS "Updated"
FROM crewscope_run_rows AS src
WHERE src."Kind" = 'crew' AND src."CrewName" IS NOT NULL
GROUP BY "Day", "CrewName";

-- Failed task executions per day, agent and error (DuckDB's rollups/agent_errors_daily.sql).
CREATE TABLE IF NOT EXISTS crewscope_agent_errors_daily_sums (
    "Day"       Date,
    "AgentName" String,
    "ErrorType" String,
    "Error"     String,
    "Count"     SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree ORDER BY ("Day", "AgentName", "ErrorType", "Error");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_agent_errors_daily_sums_mv TO crewscope_agent_errors_daily_sums AS
SELECT
    toDate(src."Timestamp", 'UTC') AS "Day",
    coalesce(src."AgentName", '') AS "AgentName",
    coalesce(src."ErrorType", '') AS "ErrorType",
    left(coalesce(nullIf(src."StatusMessage", ''), src."ErrorType", 'unknown error'), 100) AS "Error",
    count() AS "Count"
FROM crewscope_task_rows AS src
WHERE src."Failed" AND src."AgentName" IS NOT NULL
GROUP BY "Day", "AgentName", "ErrorType", "Error";

-- The LLM calls per hour and agent with their cost, priced now (as crewscope_run_totals).
CREATE OR REPLACE VIEW crewscope_llm_hourly AS
SELECT "Hour", "AgentName", toInt64(sum(calls)) AS "LlmCalls", toInt64(sum(errors)) AS "Errors",
    toInt64(sum(in_t)) AS "InputTokens", toInt64(sum(out_t)) AS "OutputTokens",
    sum(cost) AS "CostUsd"
FROM (
    SELECT
        "Hour", "AgentName", sum("Calls") AS calls, sum("Errors") AS errors,
        sum("InputTokens") AS in_t, sum("OutputTokens") AS out_t,
        crewscope_sums_cost('{{database}}.crewscope_prices_dict', "Operation", "Model",
                           "ProviderName", sum("PricedCalls"), sum("InputTokens"),
                           sum("OutputTokens"), sum("CacheRead"), sum("CacheWrite")) AS cost
    FROM crewscope_llm_hourly_sums
    GROUP BY "Hour", "AgentName", "Operation", "Model", "ProviderName"
)
GROUP BY "Hour", "AgentName";

-- The cost of each agent's LLM calls per day, priced now.
CREATE OR REPLACE VIEW crewscope_llm_daily AS
SELECT "Day", "AgentName", sum(cost) AS "CostUsd", max(updated) AS "Updated"
FROM (
    SELECT
        "Day", "AgentName", max("Updated") AS updated,
        crewscope_sums_cost('{{database}}.crewscope_prices_dict', "Operation", "Model",
                           "ProviderName", sum("PricedCalls"), sum("InputTokens"),
                           sum("OutputTokens"), sum("CacheRead"), sum("CacheWrite")) AS cost
    FROM crewscope_llm_daily_sums
    GROUP BY "Day", "AgentName", "Operation", "Model", "ProviderName"
)
GROUP BY "Day", "AgentName";

-- DuckDB's crewscope_agent_hourly: task executions and LLM calls per hour and agent.
CREATE OR REPLACE VIEW crewscope_agent_hourly AS
SELECT
    "Hour", "AgentName",
    toInt64(sum(n)) AS "Executions", toInt64(sum(f)) AS "Failed", sum(sum_ms) AS "SumMs",
    min(min_ms) AS "MinMs", max(max_ms) AS "MaxMs",
    toInt64(sum(in_t)) AS "InputTokens", toInt64(sum(out_t)) AS "OutputTokens",
    max(last_ts) AS "LastTs", toInt64(sum(calls)) AS "LlmCalls", sum(cost) AS "CostUsd"
FROM (
    SELECT "Hour", "AgentName", sum("Executions") AS n, sum("Failed") AS f,
        sum("SumMs") AS sum_ms, CAST(min("MinMs"), 'Nullable(Float64)') AS min_ms,
        CAST(max("MaxMs"), 'Nullable(Float64)') AS max_ms, sum("InputTokens") AS in_t,
        sum("OutputTokens") AS out_t, CAST(max("LastTs"), 'Nullable(DateTime64(9))') AS last_ts,
        0 AS calls, CAST(NULL, 'Nullable(Float64)') AS cost
    FROM crewscope_agent_hourly_sums
    GROUP BY "Hour", "AgentName"
    UNION ALL
    SELECT "Hour", "AgentName", 0, 0, 0.0, NULL, NULL, 0, 0, NULL, "LlmCalls", "CostUsd"
    FROM crewscope_llm_hourly
)
GROUP BY "Hour", "AgentName";

-- DuckDB's crewscope_run_hourly: top-level runs per hour, kind and name.
CREATE OR REPLACE VIEW crewscope_run_hourly AS
SELECT
    s."Hour" AS "Hour", s."Kind" AS "Kind", s."Name" AS "Name",
    toInt64(sum(s."Runs")) AS "Runs", toInt64(sum(s."Failed")) AS "Failed",
    toInt64(sum(s."InputTokens")) AS "InputTokens", toInt64(sum(s."OutputTokens")) AS "OutputTokens"
FROM crewscope_run_hourly_sums AS s
GROUP BY s."Hour", s."Kind", s."Name";

-- DuckDB's crewscope_rollup_agent_daily (rollups/agent_daily.sql): task executions per day
-- and agent, and the cost of the agent's LLM calls by their own day.
CREATE OR REPLACE VIEW crewscope_rollup_agent_daily AS
SELECT
    "Day", "AgentName",
    toInt64(sum(n)) AS "Executions", toInt64(sum(n) - sum(f)) AS "Successful",
    toInt64(sum(f)) AS "Failed",
    100.0 * (sum(n) - sum(f)) / nullIf(sum(n), 0) AS "SuccessRate",
    sum(sum_ms) AS "SumMs", sum(sum_ms) / nullIf(sum(n), 0) AS "AvgMs",
    min(min_ms) AS "MinMs", max(max_ms) AS "MaxMs",
    if(sum(n) = 0, NULL, arrayFlatten(groupArray(q))[1]) AS "P50Ms",
    if(sum(n) = 0, NULL, arrayFlatten(groupArray(q))[2]) AS "P95Ms",
    if(sum(n) = 0, NULL, arrayFlatten(groupArray(q))[3]) AS "P99Ms",
    toInt64(sum(in_t)) AS "InputTokens", toInt64(sum(out_t)) AS "OutputTokens",
    sum(cost) AS "CostUsd", max(updated) AS "RefreshedAt"
FROM (
    SELECT "Day", "AgentName", sum("Executions") AS n,
        sum("Failed") AS f, sum("SumMs") AS sum_ms, CAST(min("MinMs"), 'Nullable(Float64)') AS min_ms,
        CAST(max("MaxMs"), 'Nullable(Float64)') AS max_ms,
        quantilesExactInclusiveMerge(0.5, 0.95, 0.99)("Durations") AS q,
        sum("InputTokens") AS in_t, sum("OutputTokens") AS out_t,
        CAST(NULL, 'Nullable(Float64)') AS cost, max("Updated") AS updated
    FROM crewscope_agent_daily_sums
    GROUP BY "Day", "AgentName"
    UNION ALL
    SELECT "Day", "AgentName", 0, 0, 0.0, NULL, NULL, CAST([], 'Array(Float64)'), 0, 0,
        "CostUsd", "Updated"
    FROM crewscope_llm_daily
)
GROUP BY "Day", "AgentName";

-- DuckDB's crewscope_rollup_crew_daily (rollups/crew_daily.sql): crew runs (top-level or
-- nested in a flow) per day of their start and crew. The cost is each run's total
-- (crewscope_run_totals, or its trace's for a run whose spans name no run), summed now over
-- the day's crew runs: a run's later spans add to it wherever their hour and day fall, so
-- it cannot be summed into the day as they arrive. Once retention has dropped a day's
-- runs, that day's cost is NULL (its other columns are kept).
CREATE OR REPLACE VIEW crewscope_rollup_crew_daily AS
WITH crew_runs AS (
    SELECT toDate("Timestamp", 'UTC') AS "Day", "CrewName", "SpanId", "TraceId"
    FROM crewscope_run_rows
    WHERE "Kind" = 'crew' AND "CrewName" IS NOT NULL
),
totals AS (
    SELECT "RunId", "CostUsd" FROM crewscope_run_totals
    WHERE "RunId" IN (SELECT "SpanId" FROM crew_runs) OR "RunId" IN (SELECT "TraceId" FROM crew_runs)
)
SELECT
    "Day", "CrewName",
    toInt64(sum(n)) AS "Executions", toInt64(sum(n) - sum(f)) AS "Successful",
    toInt64(sum(f)) AS "Failed",
    100.0 * (sum(n) - sum(f)) / nullIf(sum(n), 0) AS "SuccessRate",
    sum(sum_ms) AS "SumMs", sum(sum_ms) / nullIf(sum(n), 0) AS "AvgMs",
    min(min_ms) AS "MinMs", max(max_ms) AS "MaxMs",
    if(sum(n) = 0, NULL, arrayFlatten(groupArray(q))[1]) AS "P50Ms",
    if(sum(n) = 0, NULL, arrayFlatten(groupArray(q))[2]) AS "P95Ms",
    if(sum(n) = 0, NULL, arrayFlatten(groupArray(q))[3]) AS "P99Ms",
    toInt64(sum(in_t)) AS "InputTokens", toInt64(sum(out_t)) AS "OutputTokens",
    sum(cost) AS "CostUsd", max(updated) AS "RefreshedAt"
FROM (
    SELECT "Day", "CrewName", sum("Runs") AS n,
        sum("Failed") AS f, sum("SumMs") AS sum_ms, CAST(min("MinMs"), 'Nullable(Float64)') AS min_ms,
        CAST(max("MaxMs"), 'Nullable(Float64)') AS max_ms,
        quantilesExactInclusiveMerge(0.5, 0.95, 0.99)("Durations") AS q,
        sum("InputTokens") AS in_t, sum("OutputTokens") AS out_t,
        CAST(NULL, 'Nullable(Float64)') AS cost, CAST(max("Updated"), 'Nullable(DateTime64(3))') AS updated
    FROM crewscope_crew_daily_sums
    GROUP BY "Day", "CrewName"
    UNION ALL
    SELECT r."Day", r."CrewName", 0, 0, 0.0, NULL, NULL, CAST([], 'Array(Float64)'), 0, 0,
        sum(if(rt."RunId" IS NULL, tt."CostUsd", rt."CostUsd")), NULL
    FROM crew_runs AS r
    LEFT JOIN totals AS rt ON rt."RunId" = r."SpanId"
    LEFT JOIN totals AS tt ON tt."RunId" = r."TraceId"
    GROUP BY r."Day", r."CrewName"
)
GROUP BY "Day", "CrewName";

-- DuckDB's crewscope_rollup_agent_errors_daily.
CREATE OR REPLACE VIEW crewscope_rollup_agent_errors_daily AS
SELECT s."Day" AS "Day", s."AgentName" AS "AgentName", nullIf(s."ErrorType", '') AS "ErrorType",
    s."Error" AS "Error", toInt64(sum(s."Count")) AS "Count"
FROM crewscope_agent_errors_daily_sums AS s
GROUP BY s."Day", s."AgentName", s."ErrorType", s."Error";
