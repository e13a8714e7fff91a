-- Process stats per (service, pid) and time bucket of $width_s seconds in [$start, $end].
-- CPU usage (cores) is a rate: for cumulative process.cpu.time, the increase between
-- consecutive samples (all cpu.mode values summed; a drop means a restart and is skipped)
-- over the elapsed time; for delta points, the value over its own interval. (ClickHouse's
-- metric times are whole seconds, so its rates are over whole-second intervals.)
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
        CASE WHEN temporality = 1 THEN v
             ELSE v - max(v) OVER prev END AS dv,
        CASE WHEN temporality = 1 THEN epoch_ns(t) - epoch_ns(t0)
             ELSE epoch_ns(t) - epoch_ns(max(t) OVER prev) END AS dt_ns
    FROM cpu
    -- the sample before (none before the first: NULL, so that one makes no step)
    WINDOW prev AS (PARTITION BY service, pid, temporality ORDER BY t
                    ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING)
),
cpu_b AS (
    SELECT
        service, pid,
        crewscope_bucket(t, $width_s) AS bucket,
        sum(dv) / (sum(dt_ns) / 1e9) AS cpu_cores
    FROM cpu_steps
    WHERE dv >= 0 AND dt_ns > 0
    GROUP BY ALL
),
other_b AS (
    SELECT
        service, pid,
        crewscope_bucket(t, $width_s) AS bucket,
        any_value(crew) FILTER (WHERE crew IS NOT NULL) AS crew,
        any_value(agent) FILTER (WHERE agent IS NOT NULL) AS agent,
        count(DISTINCT t) AS samples,
        avg(value) FILTER (WHERE metric = 'process.cpu.utilization') AS cpu_utilization_avg,
        max(value) FILTER (WHERE metric = 'process.cpu.utilization') AS cpu_utilization_max,
        avg(value) FILTER (WHERE metric = 'process.memory.usage') AS memory_usage_avg,
        max(value) FILTER (WHERE metric = 'process.memory.usage') AS memory_usage_max,
        max(value) FILTER (WHERE metric = 'process.memory.virtual') AS memory_virtual_max,
        max(value) FILTER (WHERE metric = 'process.thread.count') AS threads_max,
        max(value) FILTER (WHERE metric = 'process.unix.file_descriptor.count') AS file_descriptors_max
    FROM p
    GROUP BY ALL
)
SELECT o.*, c.cpu_cores
FROM other_b o LEFT JOIN cpu_b c USING (service, pid, bucket)
ORDER BY o.service, o.pid, o.bucket
