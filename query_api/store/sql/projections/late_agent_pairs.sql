-- Spans of other instrumentations stored without what their enclosing spans name (the
-- instrumentation scope is not crewscope's): LLM and tool calls without an agent or a crew,
-- tasks (invoke_agent) without a crew; one row per (such span, span that starts around it
-- in the same trace and names an agent or a crew). Those enclosing spans: the ones synced
-- now (rowids [$lo, $hi]; what they enclose may have been synced before them), and the
-- stored tasks and crew runs around the spans synced now that miss something (started in
-- [$o_from, $o_to]: their task or crew came first). Spans are read from [$t_from, $t_to]
-- only: constants, so the row groups outside are skipped.
WITH enclosing AS (
    SELECT "TraceId", "Timestamp" AS s, "Timestamp" + to_microseconds("Duration" // 1000 + 1) AS e
    FROM otel_traces
    WHERE rowid BETWEEN $lo AND $hi AND ("AgentName" IS NOT NULL OR "CrewName" IS NOT NULL)
    UNION ALL
    SELECT "TraceId", "Timestamp", "EndTime" + INTERVAL 1 MICROSECOND
    FROM crewscope_tasks
    WHERE ("AgentName" IS NOT NULL OR "CrewName" IS NOT NULL)
      AND "EndTime" >= $o_from AND "Timestamp" <= $o_to
    UNION ALL
    SELECT "TraceId", "Timestamp", "EndTime" + INTERVAL 1 MICROSECOND
    FROM crewscope_runs
    WHERE "CrewName" IS NOT NULL AND "EndTime" >= $o_from AND "Timestamp" <= $o_to
),
missing AS (
    SELECT
        CASE "GenAiOperation" WHEN 'invoke_agent' THEN 'task' WHEN 'execute_tool' THEN 'tool'
            ELSE 'llm' END AS kind,
        "TraceId", "SpanId", "Timestamp"
    FROM otel_traces
    WHERE "Timestamp" BETWEEN $t_from AND $t_to
      AND NOT starts_with(coalesce("ScopeName", ''), 'crewscope')
      AND (((list_contains($llm_ops, "GenAiOperation") OR "GenAiOperation" = 'execute_tool')
            AND ("AgentName" IS NULL OR "CrewName" IS NULL))
           OR ("GenAiOperation" = 'invoke_agent' AND "CrewName" IS NULL))
)
SELECT c.kind, c."TraceId", c."SpanId", c."Timestamp", e.s AS enclosing_start
FROM missing c
JOIN enclosing e ON e."TraceId" = c."TraceId" AND c."Timestamp" BETWEEN e.s AND e.e
