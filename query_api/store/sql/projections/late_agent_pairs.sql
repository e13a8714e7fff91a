-- LLM and tool calls stored without an agent (crewscope_llm_calls, crewscope_tool_calls)
-- that start inside a span naming an agent, of the same trace: one row per (call, such
-- span). Those spans: the ones synced now (rowids [$lo, $hi]; the calls may have been
-- synced before them), and the stored task spans around the calls synced now without an
-- agent (started in [$o_from, $o_to]: their task came first). Calls are read from
-- [$t_from, $t_to] only: constants, so the row groups outside are skipped.
WITH enclosing AS (
    SELECT "TraceId", "Timestamp" AS s, "Timestamp" + to_microseconds("Duration" // 1000 + 1) AS e
    FROM otel_traces
    WHERE rowid BETWEEN $lo AND $hi AND "AgentName" IS NOT NULL
    UNION ALL
    SELECT "TraceId", "Timestamp", "EndTime" + INTERVAL 1 MICROSECOND
    FROM crewscope_tasks
    WHERE "AgentName" IS NOT NULL AND "EndTime" >= $o_from AND "Timestamp" <= $o_to
),
calls AS (
    SELECT 'llm' AS kind, "TraceId", "SpanId", "Timestamp" FROM crewscope_llm_calls
    WHERE "AgentName" IS NULL AND "Timestamp" BETWEEN $t_from AND $t_to
    UNION ALL
    SELECT 'tool', "TraceId", "SpanId", "Timestamp" FROM crewscope_tool_calls
    WHERE "AgentName" IS NULL AND "Timestamp" BETWEEN $t_from AND $t_to
)
SELECT c.kind, c."TraceId", c."SpanId", c."Timestamp", e.s AS enclosing_start
FROM calls c
JOIN enclosing e ON e."TraceId" = c."TraceId" AND c."Timestamp" BETWEEN e.s AND e.e
