-- The LLM calls that late_agents.sql gave an agent, moved in crewscope_agent_hourly from
-- the no-agent bucket ('') to their agent: + to the agent, - to '', per hour (sum_tables.py
-- merges it; same rows as crewscope_llm_calls after late_agent_fill.sql). Read before the fill.
WITH moved AS (
    SELECT date_trunc('hour', c."Timestamp") AS "Hour", r."AgentName", c."CostUsd"
    FROM crewscope_llm_calls c
    JOIN crewscope_late_agents r
      ON r.kind = 'llm' AND r."TraceId" = c."TraceId" AND r."SpanId" = c."SpanId"
    WHERE c."AgentName" IS NULL AND c."Timestamp" BETWEEN $c_from AND $c_to
)
SELECT "Hour", "AgentName", count(*) AS "LlmCalls", sum("CostUsd") AS "CostUsd"
FROM moved GROUP BY ALL
UNION ALL
SELECT "Hour", '', -count(*), -sum("CostUsd")
FROM moved GROUP BY ALL
