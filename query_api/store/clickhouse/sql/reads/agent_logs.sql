-- ClickHouse text of store/sql/reads/agent_logs.sql: the records are read from the
-- exporter's otel_logs itself, not through crewscope_logs (schema_signals.sql), with the
-- same values that view gives: the agent compared on the attribute map as stored (a record
-- without the attribute has '' there, which names no agent), so the map values'
-- data-skipping index skips the granules without the agent, and newest first by the
-- table's own sort prefix (toStartOfFiveMinutes never decreases with the time, so the order
-- is the time's), so the newest parts are read first and reading stops once $limit records
-- are found.
SELECT
    l.Timestamp AS "Timestamp", l.TraceId AS "TraceId", l.SpanId AS "SpanId",
    crewscope_attr(l.LogAttributes, 'crewscope.run.id') AS "RunId",
    crewscope_attr(l.LogAttributes, 'crewai.task.name') AS "TaskName",
    nullIf(l.Body, '') AS "Body", toInt32(l.SeverityNumber) AS "SeverityNumber"
FROM otel_logs AS l
WHERE l.LogAttributes['gen_ai.agent.name'] = $agent AND $agent != ''
  AND l.SeverityNumber >= $min_severity
ORDER BY toStartOfFiveMinutes(l.Timestamp) DESC, l.Timestamp DESC
LIMIT $limit
