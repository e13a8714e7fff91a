-- ClickHouse text of store/sql/reads/process_latest.sql.
WITH p AS (
    SELECT * FROM {{points}} WHERE ($pid IS NULL OR pid = $pid)
),
latest_t AS (
    SELECT service, pid, max(t) AS t FROM p GROUP BY service, pid
),
cur AS (
    SELECT p.* FROM p JOIN latest_t USING (service, pid, t)
)
SELECT
    service,
    pid,
    any(crew) AS crew,
    any(agent) AS agent,
    max(t) AS timestamp,
    maxIf(value, metric = 'process.cpu.utilization') AS cpu_utilization,
    sumIf(value, metric = 'process.cpu.time' AND coalesce(temporality, 2) = 2) AS cpu_time_s,
    maxIf(value, metric = 'process.memory.usage') AS memory_usage_bytes,
    maxIf(value, metric = 'process.memory.virtual') AS memory_virtual_bytes,
    maxIf(value, metric = 'process.thread.count') AS threads,
    maxIf(value, metric = 'process.unix.file_descriptor.count') AS file_descriptors,
    sumIf(value, metric = 'process.context_switches' AND coalesce(temporality, 2) = 2) AS context_switches
FROM cur
GROUP BY service, pid
ORDER BY service, pid
