-- ClickHouse text of store/sql/reads/process_series.sql (lagInFrame over the rows up to the
-- current one is DuckDB's lag; NULL before the first sample). The exporter's metric times
-- are whole seconds, so a CPU rate is over whole-second intervals here.
WITH p AS (
    SELECT * FROM {{points}} WHERE ($pid IS NULL OR pid = $pid)
),
cpu AS (
    SELECT service, pid, t, temporality, min(t0) AS t0, sum(value) AS v
    FROM p WHERE metric = 'process.cpu.time'
    GROUP BY service, pid, t, temporality
),
cpu_steps AS (
    SELECT
        service, pid, t,
        if(temporality = 1, v, v - lagInFrame(toNullable(v), 1, NULL) OVER w) AS dv,
        if(temporality = 1, toUnixTimestamp64Nano(t) - toUnixTimestamp64Nano(t0),
           toUnixTimestamp64Nano(t) - lagInFrame(toNullable(toUnixTimestamp64Nano(t)), 1, NULL) OVER w) AS dt_ns
    FROM cpu
    WINDOW w AS (PARTITION BY service, pid, temporality ORDER BY t
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
cpu_b AS (
    SELECT
        service, pid,
        toDateTime64(toStartOfInterval(t, toIntervalSecond($width_s)), 6, 'UTC') AS bucket,
        sum(dv) / (sum(dt_ns) / 1e9) AS cpu_cores
    FROM cpu_steps
    WHERE dv >= 0 AND dt_ns > 0
    GROUP BY service, pid, bucket
),
other_b AS (
    SELECT
        service, pid,
        toDateTime64(toStartOfInterval(t, toIntervalSecond($width_s)), 6, 'UTC') AS bucket,
        any(crew) AS crew,
        any(agent) AS agent,
        uniqExact(t) AS samples,
        avgIf(value, metric = 'process.cpu.utilization') AS cpu_utilization_avg,
        maxIf(value, metric = 'process.cpu.utilization') AS cpu_utilization_max,
        avgIf(value, metric = 'process.memory.usage') AS memory_usage_avg,
        maxIf(value, metric = 'process.memory.usage') AS memory_usage_max,
        maxIf(value, metric = 'process.memory.virtual') AS memory_virtual_max,
        maxIf(value, metric = 'process.thread.count') AS threads_max,
        maxIf(value, metric = 'process.unix.file_descriptor.count') AS file_descriptors_max
    FROM p
    GROUP BY service, pid, bucket
)
SELECT o.*, c.cpu_cores AS cpu_cores
FROM other_b o LEFT JOIN cpu_b c USING (service, pid, bucket)
ORDER BY o.service, o.pid, o.bucket
