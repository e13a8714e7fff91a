-- Metrics and logs: what crewscope derives from the exporter's otel_metrics_* and otel_logs
-- (loaded after schema.sql). Nothing is copied: the reads (sql/reads/process_*, log_*,
-- export_logs) go to the exporter's tables, through the view below for logs.
--
-- Log records with the column set of crewscope's DuckDB otel_logs (exporter/sql/
-- logs_schema.sql): NULL where the exporter writes '' for "none" (severity text, service,
-- body, scope), the event name from the record's field or else its event.name attribute, and
-- the typed copies of the attributes crewscope's log context stamps (CrewName ... RootRunId).
CREATE OR REPLACE VIEW crewscope_logs AS
SELECT
    l.Timestamp AS "Timestamp",
    l.TraceId AS "TraceId",
    l.SpanId AS "SpanId",
    toInt32(l.TraceFlags) AS "TraceFlags",
    nullIf(l.SeverityText, '') AS "SeverityText",
    toInt32(l.SeverityNumber) AS "SeverityNumber",
    nullIf(l.ServiceName, '') AS "ServiceName",
    nullIf(l.Body, '') AS "Body",
    nullIf(l.ResourceSchemaUrl, '') AS "ResourceSchemaUrl",
    CAST(l.ResourceAttributes, 'Map(String, String)') AS "ResourceAttributes",
    nullIf(l.ScopeSchemaUrl, '') AS "ScopeSchemaUrl",
    nullIf(l.ScopeName, '') AS "ScopeName",
    nullIf(l.ScopeVersion, '') AS "ScopeVersion",
    CAST(l.ScopeAttributes, 'Map(String, String)') AS "ScopeAttributes",
    CAST(l.LogAttributes, 'Map(String, String)') AS "LogAttributes",
    coalesce(nullIf(l.EventName, ''), crewscope_attr(l.LogAttributes, 'event.name')) AS "EventName",
    crewscope_attr(l.LogAttributes, 'crewai.crew.name') AS "CrewName",
    crewscope_attr(l.LogAttributes, 'gen_ai.agent.name') AS "AgentName",
    crewscope_attr(l.LogAttributes, 'crewai.task.name') AS "TaskName",
    crewscope_attr(l.LogAttributes, 'crewscope.run.id') AS "RunId",
    crewscope_attr(l.LogAttributes, 'crewscope.run.root_id') AS "RootRunId"
FROM otel_logs AS l;
