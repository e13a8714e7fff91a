-- ClickHouse text of store/sql/reads/telemetry_losses.sql, over the exporter's metric tables.
WITH p AS (
    SELECT
        nullIf(m.ServiceName, '') AS service,
        toString(m.MetricName) AS metric,
        crewscope_attr(m.Attributes, 'error.type') AS reason,
        m.Attributes['otel.component.name'] AS component,
        m.ResourceAttributes['process.pid'] AS pid,
        m.StartTimeUnix AS t0,
        toDateTime64(m.TimeUnix, 9, 'UTC') AS t,
        m.Value AS value,
        m.AggregationTemporality AS temporality
    FROM otel_metrics_sum AS m
    WHERE m.MetricName IN ('otel.sdk.processor.span.processed', 'otel.sdk.processor.log.processed',
                           'otel.sdk.exporter.span.exported', 'otel.sdk.exporter.log.exported',
                           'otel.sdk.exporter.metric_data_point.exported')
      AND m.Attributes['error.type'] <> ''
      AND m.TimeUnix BETWEEN $start AND $end
),
series AS (
    SELECT service, metric, reason, argMax(value, t) AS n, max(t) AS last_t
    FROM p WHERE temporality = 2
    GROUP BY service, metric, reason, component, pid, t0
    UNION ALL
    SELECT service, metric, reason, value, t FROM p WHERE temporality != 2
)
SELECT
    service,
    multiIf(metric LIKE '%.span.%', 'traces', metric LIKE '%.log.%', 'logs', 'metrics') AS signal,
    if(metric LIKE 'otel.sdk.processor.%', 'dropped', 'export_failed') AS stage,
    reason,
    toInt64(sum(n)) AS lost,
    max(last_t) AS last_seen
FROM series
GROUP BY service, signal, stage, reason
HAVING sum(n) > 0
ORDER BY lost DESC, service, signal, reason
