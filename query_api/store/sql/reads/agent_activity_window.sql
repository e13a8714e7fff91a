-- The spans agent $agent's newest $limit activity lines can come from. Every line of a span
-- is at or after its start, so those lines all come from spans ending at or after the
-- $limit-th newest start (cutoff); since = the earliest start among those spans. Both are
-- passed to reads/agent_activity.sql as constants, so its scan of the wide columns skips
-- the row groups before `since`. Null when the agent has no such span.
WITH shown AS (
    SELECT "Timestamp", crewscope_end("Timestamp", "Duration") AS end_time
    FROM crewscope_spans
    WHERE "AgentName" = $agent
      AND ("GenAiOperation" IN ('invoke_agent', 'execute_tool')
           OR list_contains($llm_ops, "GenAiOperation")
           OR starts_with("SpanName", 'step '))
),
cutoff AS (
    SELECT min("Timestamp") AS ts
    FROM (SELECT "Timestamp" FROM shown ORDER BY "Timestamp" DESC LIMIT $limit)
)
SELECT cutoff.ts AS cutoff, min(shown."Timestamp") AS since
FROM shown CROSS JOIN cutoff
WHERE shown.end_time >= cutoff.ts
GROUP BY cutoff.ts
