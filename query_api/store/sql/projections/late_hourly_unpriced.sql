-- The cost of the no-agent rows ('') of crewscope_agent_hourly in the hours of the calls given
-- an agent, summed again from the calls still without one (run after late_agent_fill.sql):
-- exactly what a rebuild sums (NULL where none of them is priced), not what subtracting the
-- moved calls' cost left (0 or a rounding residue).
UPDATE crewscope_agent_hourly AS h
SET "CostUsd" = (
    SELECT sum(c."CostUsd") FROM crewscope_llm_calls AS c
    WHERE c."AgentName" IS NULL AND date_trunc('hour', c."Timestamp") = h."Hour"
      AND c."Timestamp" BETWEEN date_trunc('hour', $c_from) AND $c_to + INTERVAL 1 HOUR
)
WHERE h."AgentName" = '' AND h."Hour" BETWEEN date_trunc('hour', $c_from) AND $c_to
