-- ClickHouse text of store/sql/reads/live_logs.sql, over crewscope_live_logs
-- (schema_live.sql): log records that arrived at or after $lo (ns, the live feed's cursor
-- less its lag window) and within the last $lag_ns by the server's clock, oldest arrival
-- first. The feed skips rows it has published (rid).
SELECT
    toUnixTimestamp64Nano("Arrived") AS arrived_ns,
    "Row" AS rid,
    "TimeNs" AS t_ns,
    "TraceId", "SpanId", "SeverityText", "SeverityNumber", "ServiceName",
    left("Body", $max_body) AS "Body", "EventName", "CrewName", "AgentName", "TaskName",
    "RunId", "RootRunId"
FROM crewscope_live_logs
WHERE "Arrived" >= fromUnixTimestamp64Nano(toInt64($lo), 'UTC')
  AND "Arrived" >= now64(9) - toIntervalNanosecond(toInt64($lag_ns))
ORDER BY "Arrived", "Row"
