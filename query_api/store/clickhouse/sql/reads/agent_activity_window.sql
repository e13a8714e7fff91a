-- ClickHouse text of store/sql/reads/agent_activity_window.sql: the spans agent $agent's
-- newest $limit activity lines can come from: cutoff = the $limit-th newest start, since =
-- the earliest start among the spans ending at or after it. No row when the agent has none.
WITH shown AS (
    SELECT "Timestamp", addMicroseconds("Timestamp", intDiv("Duration", 1000)) AS end_time
    FROM crewscope_spans
    WHERE "AgentName" = $agent
      AND ("GenAiOperation" IN ('invoke_agent', 'execute_tool')
           OR has($llm_ops, "GenAiOperation")
           OR startsWith("SpanName", 'step '))
),
cutoff AS (
    SELECT min("Timestamp") AS ts
    FROM (SELECT "Timestamp" FROM shown ORDER BY "Timestamp" DESC LIMIT $limit)
)
SELECT cutoff.ts AS cutoff, min(shown."Timestamp") AS since
FROM shown CROSS JOIN cutoff
WHERE shown.end_time >= cutoff.ts
GROUP BY cutoff.ts
