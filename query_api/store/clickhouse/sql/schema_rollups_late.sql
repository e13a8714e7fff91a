-- The sums of LLM calls named by a later span (crewscope_late_calls, schema_late_agents.sql),
-- moved to their agent (loaded after schema_rollups.sql, whose tables they write).
--
-- A call stored without an agent counted in the no-agent bucket ('') of the hourly LLM sums
-- when it was inserted, and not in the daily ones (which keep named agents only). When a
-- later span names its agent, each row of crewscope_late_calls adds the call to its agent
-- and takes it out of '' in the hourly sums (the counts are unsigned: the minus rows wrap
-- around, and the sums of a key come out exact), and adds it to its agent's daily sums.
-- These views are not run when a table is refilled (layout.py, MOVES): a refill reads the
-- call rows, which name the agent by then.

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_llm_hourly_moves_mv TO crewscope_llm_hourly_sums AS
SELECT
    toStartOfHour(src.ts, 'UTC') AS "Hour",
    src.agent AS "AgentName",
    src.op AS "Operation",
    coalesce(src.model, '') AS "Model",
    coalesce(src.provider, '') AS "ProviderName",
    toUInt64(sum(src.sign)) AS "Calls",
    toUInt64(sum(src.sign * src.failed)) AS "Errors",
    toUInt64(sum(src.sign * crewscope_priced(src.op, src.model, src.i, src.o))) AS "PricedCalls",
    sum(src.sign * coalesce(src.i, 0)) AS "InputTokens",
    sum(src.sign * coalesce(src.o, 0)) AS "OutputTokens",
    sum(src.sign * coalesce(src.cr, 0)) AS "CacheRead",
    sum(src.sign * coalesce(src.cw, 0)) AS "CacheWrite"
FROM (
    SELECT "Timestamp" AS ts, arrayJoin([("Name", toInt64(1)), ('', toInt64(-1))]) AS move,
           move.1 AS agent, move.2 AS sign, "Operation" AS op, "Model" AS model,
           "ProviderName" AS provider, toInt64("Failed") AS failed, "InputTokens" AS i,
           "OutputTokens" AS o, "CacheRead" AS cr, "CacheWrite" AS cw
    FROM crewscope_late_calls
    WHERE "Kind" = 'llm'
) AS src
GROUP BY "Hour", "AgentName", "Operation", "Model", "ProviderName";

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_llm_daily_moves_mv TO crewscope_llm_daily_sums AS
SELECT
    toDate(src."Timestamp", 'UTC') AS "Day",
    src."Name" AS "AgentName",
    src."Operation" AS "Operation",
    coalesce(src."Model", '') AS "Model",
    coalesce(src."ProviderName", '') AS "ProviderName",
    countIf(crewscope_priced(src."Operation", src."Model", src."InputTokens",
                             src."OutputTokens")) AS "PricedCalls",
    toInt64(sum(coalesce(src."InputTokens", 0))) AS "InputTokens",
    toInt64(sum(coalesce(src."OutputTokens", 0))) AS "OutputTokens",
    toInt64(sum(coalesce(src."CacheRead", 0))) AS "CacheRead",
    toInt64(sum(coalesce(src."CacheWrite", 0))) AS "CacheWrite",
    now64(3) AS "Updated"
FROM crewscope_late_calls AS src
WHERE src."Kind" = 'llm'
GROUP BY "Day", "AgentName", "Operation", "Model", "ProviderName";
