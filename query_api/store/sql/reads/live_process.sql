-- Live feed: process stats appended with rowid in [$lo_sum, $hi_sum] / [$lo_gauge, $hi_gauge].
SELECT
    "ServiceName" AS service,
    TRY_CAST(coalesce("Attributes"['process.pid'], "ResourceAttributes"['process.pid']) AS BIGINT) AS pid,
    "Attributes"['crewai.crew.name'] AS crew,
    "Attributes"['gen_ai.agent.name'] AS agent,
    "MetricName" AS metric,
    epoch_ns("TimeUnix") AS t_ns,
    "Value" AS value,
    "AggregationTemporality" AS temporality
FROM otel_metrics_sum
WHERE rowid BETWEEN $lo_sum AND $hi_sum AND "MetricName" LIKE 'process.%'
UNION ALL
SELECT
    "ServiceName",
    TRY_CAST(coalesce("Attributes"['process.pid'], "ResourceAttributes"['process.pid']) AS BIGINT),
    "Attributes"['crewai.crew.name'],
    "Attributes"['gen_ai.agent.name'],
    "MetricName",
    epoch_ns("TimeUnix"),
    "Value",
    NULL
FROM otel_metrics_gauge
WHERE rowid BETWEEN $lo_gauge AND $hi_gauge AND "MetricName" LIKE 'process.%'
