-- ClickHouse text of store/sql/reads/process_points.sql, over the exporter's metric tables:
-- their times are whole seconds (DateTime), read as DateTime64(9) like DuckDB's; a point
-- without a start time (the exporter writes the epoch) has a NULL start, as on DuckDB.
SELECT
    nullIf(m.ServiceName, '') AS service,
    crewscope_pid(m.Attributes, m.ResourceAttributes) AS pid,
    crewscope_attr(m.Attributes, 'crewai.crew.name') AS crew,
    crewscope_attr(m.Attributes, 'gen_ai.agent.name') AS agent,
    toString(m.MetricName) AS metric,
    coalesce(crewscope_attr(m.Attributes, 'cpu.mode'),
             crewscope_attr(m.Attributes, 'process.context_switch.type'), '') AS sub,
    toDateTime64(m.TimeUnix, 9, 'UTC') AS t,
    toUnixTimestamp64Nano(t) AS t_ns,
    if(toUnixTimestamp(m.StartTimeUnix) = 0, NULL, toDateTime64(m.StartTimeUnix, 9, 'UTC')) AS t0,
    m.Value AS value,
    toNullable(m.AggregationTemporality) AS temporality
FROM otel_metrics_sum AS m
{{sum_where}}
UNION ALL
SELECT
    nullIf(g.ServiceName, ''),
    crewscope_pid(g.Attributes, g.ResourceAttributes),
    crewscope_attr(g.Attributes, 'crewai.crew.name'),
    crewscope_attr(g.Attributes, 'gen_ai.agent.name'),
    toString(g.MetricName),
    coalesce(crewscope_attr(g.Attributes, 'cpu.mode'), ''),
    toDateTime64(g.TimeUnix, 9, 'UTC'),
    toUnixTimestamp64Nano(toDateTime64(g.TimeUnix, 9, 'UTC')),
    if(toUnixTimestamp(g.StartTimeUnix) = 0, NULL, toDateTime64(g.StartTimeUnix, 9, 'UTC')),
    g.Value,
    CAST(NULL, 'Nullable(Int32)')
FROM otel_metrics_gauge AS g
{{gauge_where}}
