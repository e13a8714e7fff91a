-- Process stats (OTel process semconv metrics), one row per data point, from both metric
-- tables, with the PID from the point (or else the resource) attributes; which points is
-- the sum_where / gauge_where slots' business (a time window, or the rowids the live feed
-- has not read yet). process.cpu.utilization is a gauge; the others are sums (cumulative,
-- or delta when a sender asked for delta temporality: AggregationTemporality = 1).
SELECT
    "ServiceName" AS service,
    TRY_CAST(coalesce("Attributes"['process.pid'], "ResourceAttributes"['process.pid']) AS BIGINT) AS pid,
    "Attributes"['crewai.crew.name'] AS crew,
    "Attributes"['gen_ai.agent.name'] AS agent,
    "MetricName" AS metric,
    coalesce("Attributes"['cpu.mode'], "Attributes"['process.context_switch.type'], '') AS sub,
    "TimeUnix" AS t,
    epoch_ns("TimeUnix") AS t_ns,
    "StartTimeUnix" AS t0,
    "Value" AS value,
    "AggregationTemporality" AS temporality
FROM otel_metrics_sum
{{sum_where}}
UNION ALL
SELECT
    "ServiceName",
    TRY_CAST(coalesce("Attributes"['process.pid'], "ResourceAttributes"['process.pid']) AS BIGINT),
    "Attributes"['crewai.crew.name'],
    "Attributes"['gen_ai.agent.name'],
    "MetricName",
    coalesce("Attributes"['cpu.mode'], ''),
    "TimeUnix",
    epoch_ns("TimeUnix"),
    "StartTimeUnix",
    "Value",
    NULL
FROM otel_metrics_gauge
{{gauge_where}}
