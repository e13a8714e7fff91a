-- Telemetry that apps lost before it reached any store, as the OpenTelemetry SDK counts it in
-- its own metrics (apps that set OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED=true): items its
-- processors dropped (otel.sdk.processor.*.processed: queue_full, already_shutdown) and its
-- exporters failed to send (otel.sdk.exporter.*.exported), each with its error.type, per
-- service, signal and reason, over the points in [$start, $end]. A cumulative series (one
-- process's component since its start) counts its latest point; delta points add up.
WITH p AS (
    SELECT
        "ServiceName" AS service,
        "MetricName" AS metric,
        "Attributes"['error.type'] AS reason,
        coalesce("Attributes"['otel.component.name'], '') AS component,
        coalesce("ResourceAttributes"['process.pid'], '') AS pid,
        "StartTimeUnix" AS t0,
        "TimeUnix" AS t,
        "Value" AS value,
        "AggregationTemporality" AS temporality
    FROM otel_metrics_sum
    WHERE "MetricName" IN ('otel.sdk.processor.span.processed', 'otel.sdk.processor.log.processed',
                           'otel.sdk.exporter.span.exported', 'otel.sdk.exporter.log.exported',
                           'otel.sdk.exporter.metric_data_point.exported')
      AND "Attributes"['error.type'] IS NOT NULL AND "Attributes"['error.type'] <> ''
      AND "TimeUnix" BETWEEN $start AND $end
),
series AS (
    SELECT service, metric, reason, arg_max(value, t) AS n, max(t) AS last_t
    FROM p WHERE temporality = 2
    GROUP BY service, metric, reason, component, pid, t0
    UNION ALL
    SELECT service, metric, reason, value, t FROM p WHERE temporality IS DISTINCT FROM 2
)
SELECT
    service,
    CASE WHEN metric LIKE '%.span.%' THEN 'traces' WHEN metric LIKE '%.log.%' THEN 'logs'
         ELSE 'metrics' END AS signal,
    CASE WHEN metric LIKE 'otel.sdk.processor.%' THEN 'dropped' ELSE 'export_failed' END AS stage,
    reason,
    CAST(sum(n) AS BIGINT) AS lost,
    max(last_t) AS last_seen
FROM series
GROUP BY ALL
HAVING sum(n) > 0
ORDER BY lost DESC, service, signal, reason
