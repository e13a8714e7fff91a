-- Live feed: log records appended with rowid in [$lo, $hi], in append order.
SELECT
    rowid AS rid,
    epoch_ns("Timestamp") AS t_ns,
    "TraceId", "SpanId", "SeverityText", "SeverityNumber", "ServiceName",
    left("Body", $max_body) AS "Body", "EventName", "CrewName", "AgentName", "TaskName",
    "RunId", "RootRunId"
FROM otel_logs
WHERE rowid BETWEEN $lo AND $hi
ORDER BY rowid
