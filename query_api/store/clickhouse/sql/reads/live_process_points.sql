-- The live feed's process stats on ClickHouse (DuckDB's feed reads reads/process_points by
-- rowid): process.* points from crewscope_live_process (schema_live.sql) that arrived at
-- or after $lo (ns, the feed's cursor less its lag window) and within the last $lag_ns by
-- the server's clock, oldest arrival first, in the columns of reads/process_points.
SELECT
    toUnixTimestamp64Nano("Arrived") AS arrived_ns,
    "Row" AS rid,
    "ServiceName" AS service,
    "Pid" AS pid,
    "CrewName" AS crew,
    "AgentName" AS agent,
    "MetricName" AS metric,
    "Sub" AS sub,
    "TimeNs" AS t_ns,
    "Value" AS value,
    "Temporality" AS temporality
FROM crewscope_live_process
WHERE "Arrived" >= fromUnixTimestamp64Nano(toInt64($lo), 'UTC')
  AND "Arrived" >= now64(9) - toIntervalNanosecond(toInt64($lag_ns))
ORDER BY "Arrived", "Row"
