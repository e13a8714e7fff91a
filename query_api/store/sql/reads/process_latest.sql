-- The latest sample of each process (service, pid) seen in [$start, $end].
WITH p AS (
    SELECT * FROM {{points}} WHERE ($pid IS NULL OR pid = $pid)
),
latest_t AS (
    SELECT service, pid, max(t) AS t FROM p GROUP BY ALL
),
cur AS (
    SELECT p.* FROM p JOIN latest_t USING (service, pid, t)
)
SELECT
    service,
    pid,
    any_value(crew) FILTER (WHERE crew IS NOT NULL) AS crew,
    any_value(agent) FILTER (WHERE agent IS NOT NULL) AS agent,
    max(t) AS timestamp,
    max(value) FILTER (WHERE metric = 'process.cpu.utilization') AS cpu_utilization,
    sum(value) FILTER (WHERE metric = 'process.cpu.time' AND coalesce(temporality, 2) = 2) AS cpu_time_s,
    max(value) FILTER (WHERE metric = 'process.memory.usage') AS memory_usage_bytes,
    max(value) FILTER (WHERE metric = 'process.memory.virtual') AS memory_virtual_bytes,
    max(value) FILTER (WHERE metric = 'process.thread.count') AS threads,
    max(value) FILTER (WHERE metric = 'process.unix.file_descriptor.count') AS file_descriptors,
    sum(value) FILTER (WHERE metric = 'process.context_switches' AND coalesce(temporality, 2) = 2) AS context_switches
FROM cur
GROUP BY service, pid
ORDER BY service, pid
