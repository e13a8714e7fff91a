-- Time bounds of the spans with rowid in [$lo, $hi] that late_agent_pairs.sql reads around:
-- the spans naming an agent (start, end), and the LLM and tool calls naming none (start).
SELECT
    min("Timestamp") FILTER (WHERE "AgentName" IS NOT NULL),
    max("Timestamp" + to_microseconds("Duration" // 1000)) FILTER (WHERE "AgentName" IS NOT NULL),
    min("Timestamp") FILTER (WHERE "AgentName" IS NULL
        AND (list_contains($llm_ops, "GenAiOperation") OR "GenAiOperation" = 'execute_tool')),
    max("Timestamp") FILTER (WHERE "AgentName" IS NULL
        AND (list_contains($llm_ops, "GenAiOperation") OR "GenAiOperation" = 'execute_tool'))
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
