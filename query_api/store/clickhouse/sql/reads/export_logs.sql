-- ClickHouse text of store/sql/reads/export_logs.sql: the attributes as DuckDB's to_json
-- writes a map (compact, '/' not escaped); same-nanosecond records by span id and body.
SELECT "Timestamp" AS time, "SeverityText" AS severity_text,
    "SeverityNumber" AS severity_number, "ServiceName" AS service, "Body" AS body,
    "EventName" AS event_name, nullIf("TraceId", '') AS trace_id,
    nullIf("SpanId", '') AS span_id, "RunId" AS run_id, "RootRunId" AS root_run_id,
    "CrewName" AS crew, "AgentName" AS agent, "TaskName" AS task, "ScopeName" AS scope,
    toJSONString("LogAttributes") AS attributes
FROM crewscope_logs
{{where}} ORDER BY "Timestamp", "SpanId", "Body"
SETTINGS output_format_json_escape_forward_slashes = 0
