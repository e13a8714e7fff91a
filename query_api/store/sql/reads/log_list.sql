-- Log records matching the where slot, one page: oldest first, or newest first when $newest_first.
SELECT
    "Timestamp", "TraceId", "SpanId", "SeverityText", "SeverityNumber", "ServiceName", "Body",
    "ScopeName", "LogAttributes", "EventName", "CrewName", "AgentName", "TaskName", "RunId",
    "RootRunId"
FROM otel_logs
{{where}}
ORDER BY
    CASE WHEN $newest_first THEN -epoch_ns("Timestamp") ELSE epoch_ns("Timestamp") END,
    CASE WHEN $newest_first THEN -rowid ELSE rowid END
LIMIT $limit OFFSET $offset
