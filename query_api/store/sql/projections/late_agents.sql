-- What each span late_agent_pairs.sql found inherits, as row conversion gives it when its
-- enclosing spans come first (exporter/peer_traces.py): agent, task and crew each from the
-- nearest ancestor naming one, walking up the parent ids of its trace's spans that started
-- in [$s_from, $s_to] (an ancestor starts before its child and after the enclosing span's
-- start, so the path up to it lies there). One row per span that gets something new:
-- `agent`, `task`, `crew` are its values after (its own first), `new_agent` whether it had
-- none and now has one. A task keeps its own agent (the hourly sums count its execution
-- under it), so only its task and crew are taken.
CREATE OR REPLACE TEMP TABLE crewscope_late_context AS
WITH RECURSIVE targets AS MATERIALIZED (
    SELECT DISTINCT kind, "TraceId", "SpanId" FROM {{pairs}}
),
spans AS MATERIALIZED (  -- a span stored twice makes two paths: the same values
    SELECT "TraceId", "SpanId", "ParentSpanId" AS parent, nullif("AgentName", '') AS agent,
        nullif("TaskName", '') AS task, nullif("CrewName", '') AS crew
    FROM otel_traces
    WHERE "Timestamp" BETWEEN $s_from AND $s_to
      AND "TraceId" IN (SELECT "TraceId" FROM targets)
),
walk(kind, "TraceId", "SpanId", parent, depth, own_agent, own_task, own_crew, agent, task,
     crew) AS (
    SELECT t.kind, t."TraceId", t."SpanId", s.parent, 0, s.agent, s.task, s.crew,
        s.agent, s.task, s.crew
    FROM targets t JOIN spans s USING ("TraceId", "SpanId")
    UNION ALL
    SELECT w.kind, w."TraceId", w."SpanId", s.parent, w.depth + 1, w.own_agent, w.own_task,
        w.own_crew, coalesce(w.agent, s.agent), coalesce(w.task, s.task),
        coalesce(w.crew, s.crew)
    FROM walk w JOIN spans s ON s."TraceId" = w."TraceId" AND s."SpanId" = w.parent
    WHERE (w.agent IS NULL OR w.task IS NULL OR w.crew IS NULL) AND w.depth < $max_depth
),
found AS (  -- the values at the top of each path (they only fill in on the way up)
    SELECT kind, "TraceId", "SpanId", any_value(own_agent) AS own_agent,
        any_value(own_task) AS own_task, any_value(own_crew) AS own_crew,
        arg_max(agent, depth) AS agent, arg_max(task, depth) AS task,
        arg_max(crew, depth) AS crew
    FROM walk
    GROUP BY ALL
)
SELECT kind, "TraceId", "SpanId",
    CASE WHEN kind = 'task' THEN own_agent ELSE agent END AS agent, task, crew,
    kind <> 'task' AND own_agent IS NULL AND agent IS NOT NULL AS new_agent
FROM found
WHERE (kind <> 'task' AND own_agent IS NULL AND agent IS NOT NULL)
   OR (own_task IS NULL AND task IS NOT NULL)
   OR (own_crew IS NULL AND crew IS NOT NULL)
