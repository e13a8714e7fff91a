-- ClickHouse text of store/sql/reads/log_list.sql. ClickHouse has no rowid: records of the
-- same nanosecond are ordered by span id and body instead of by arrival.
SELECT
    "Timestamp", "TraceId", "SpanId", "SeverityText", "SeverityNumber", "ServiceName", "Body",
    "ScopeName", "LogAttributes", "EventName", "CrewName", "AgentName", "TaskName", "RunId",
    "RootRunId"
FROM crewscope_logs
{{where}}
ORDER BY
    if($newest_first, -toUnixTimestamp64Nano("Timestamp"), toUnixTimestamp64Nano("Timestamp")),
    "SpanId", "Body"
LIMIT $limit OFFSET $offset
