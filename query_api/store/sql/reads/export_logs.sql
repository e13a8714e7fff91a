-- Export: log records, filtered by the where slot, oldest first.
SELECT "Timestamp" AS time, "SeverityText" AS severity_text,
    "SeverityNumber" AS severity_number, "ServiceName" AS service, "Body" AS body,
    "EventName" AS event_name, nullif("TraceId", '') AS trace_id,
    nullif("SpanId", '') AS span_id, "RunId" AS run_id, "RootRunId" AS root_run_id,
    "CrewName" AS crew, "AgentName" AS agent, "TaskName" AS task, "ScopeName" AS scope,
    to_json("LogAttributes")::VARCHAR AS attributes
FROM otel_logs
{{where}} ORDER BY "Timestamp", rowid
