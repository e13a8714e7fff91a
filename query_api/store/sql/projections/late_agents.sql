-- The agent of each call late_agent_pairs.sql found: that of its nearest ancestor naming
-- one, walking up the parent ids of its trace's spans that started in [$s_from, $s_to]
-- (an ancestor starts before its child and after the enclosing span's start, so the whole
-- path lies there). Calls whose ancestors name no agent (a parallel branch) are left out.
CREATE OR REPLACE TEMP TABLE crewscope_late_agents AS
WITH RECURSIVE targets AS MATERIALIZED (
    SELECT DISTINCT kind, "TraceId", "SpanId" FROM {{pairs}}
),
spans AS MATERIALIZED (  -- a span stored twice makes two paths: the same agent
    SELECT "TraceId", "SpanId", "ParentSpanId" AS parent, nullif("AgentName", '') AS agent
    FROM otel_traces
    WHERE "Timestamp" BETWEEN $s_from AND $s_to
      AND "TraceId" IN (SELECT "TraceId" FROM targets)
),
walk(kind, "TraceId", "SpanId", parent, depth, agent) AS (
    SELECT t.kind, t."TraceId", t."SpanId", s.parent, 0, NULL::VARCHAR
    FROM targets t JOIN spans s USING ("TraceId", "SpanId")
    UNION ALL
    SELECT w.kind, w."TraceId", w."SpanId", s.parent, w.depth + 1, s.agent
    FROM walk w JOIN spans s ON s."TraceId" = w."TraceId" AND s."SpanId" = w.parent
    WHERE w.agent IS NULL AND w.depth < $max_depth
)
SELECT kind, "TraceId", "SpanId", arg_min(agent, depth) AS "AgentName"
FROM walk
WHERE agent IS NOT NULL
GROUP BY ALL
