-- Time bounds of the spans with rowid in [$lo, $hi] that late_agent_pairs.sql reads around:
-- the spans naming an agent or a crew (start, end), and the spans of another
-- instrumentation missing what an enclosing span would name (start; as in
-- late_agent_pairs.sql: LLM and tool calls without an agent or a crew, tasks without a crew).
SELECT
    min("Timestamp") FILTER (WHERE "AgentName" IS NOT NULL OR "CrewName" IS NOT NULL),
    max("Timestamp" + to_microseconds("Duration" // 1000))
        FILTER (WHERE "AgentName" IS NOT NULL OR "CrewName" IS NOT NULL),
    min("Timestamp") FILTER (WHERE orphan),
    max("Timestamp") FILTER (WHERE orphan)
FROM (
    SELECT
        "Timestamp", "Duration", "AgentName", "CrewName",
        NOT starts_with(coalesce("ScopeName", ''), 'crewscope') AND (
            ((list_contains($llm_ops, "GenAiOperation") OR "GenAiOperation" = 'execute_tool')
             AND ("AgentName" IS NULL OR "CrewName" IS NULL))
            OR ("GenAiOperation" = 'invoke_agent' AND "CrewName" IS NULL)
        ) AS orphan
    FROM otel_traces
    WHERE rowid BETWEEN $lo AND $hi
)
