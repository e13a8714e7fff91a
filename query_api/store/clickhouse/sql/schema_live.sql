-- The live feed's tables (query_api/live/cursors.py; loaded after schema.sql): what lands in
-- the exporter's otel_traces, otel_logs and process.* metric points, copied by materialized
-- views with the server's time of arrival, so the feed can ask "what arrived since" without
-- a rowid and without any writer's help: every insert, from a stock Collector or any number
-- of serve processes, fires the views. Only the columns the live queries read
-- (sql/reads/live_*.sql), and only for a day: the feed reads the last seconds.
--
--   "Arrived"  the server's now64(9) when the insert reached the view; concurrent inserts
--              may become visible out of order, so the feed re-reads a lag window behind
--              its cursor and skips rows it has published (by "Row").
--   "Row"      a random 64-bit number per row: tells rows re-read in the window apart from
--              new ones (two rows of one insert share "Arrived").
--
-- No column is named Timestamp / TimeUnix (retention.TTL_COLUMNS): the retention days of
-- `serve --retention-days` do not apply here, these tables keep their own TTL.

CREATE TABLE IF NOT EXISTS crewscope_live_spans (
    "Arrived"         DateTime64(9),
    "Row"             UInt64,
    "StartNs"         Int64,
    "DurationNs"      Int64,
    "TraceId"         String,
    "SpanId"          String,
    "ParentSpanId"    String,
    "SpanName"        String,
    "ServiceName"     Nullable(String),
    "StatusCode"      String,
    "StatusMessage"   Nullable(String),
    "GenAiOperation"  Nullable(String),
    "CrewName"        Nullable(String),
    "TaskName"        Nullable(String),
    "AgentName"       Nullable(String),
    "ToolName"        Nullable(String),
    "Model"           Nullable(String),
    "ProviderName"    Nullable(String),
    "InputTokens"     Nullable(Int64),
    "OutputTokens"    Nullable(Int64),
    "CacheRead"       Nullable(Int64),
    "CacheWrite"      Nullable(Int64),
    "ErrorType"       Nullable(String),
    "StepIndex"       Nullable(String),
    "StepType"        Nullable(String),
    "MemoryOperation" Nullable(String),
    "Flow"            Nullable(String),
    "RunId"           Nullable(String),
    "RootRunId"       Nullable(String)
) ENGINE = MergeTree PARTITION BY toDate("Arrived") ORDER BY ("Arrived", "Row")
TTL toDateTime("Arrived") + toIntervalDay(1)
SETTINGS ttl_only_drop_parts = 1;

-- Spans of interest only (as reads/live_spans.sql on DuckDB): GenAI operations, steps, memory.
CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_live_spans_mv TO crewscope_live_spans AS
WITH crewscope_attr(SpanAttributes, 'gen_ai.operation.name') AS op
SELECT
    now64(9) AS "Arrived",
    rand64() AS "Row",
    toUnixTimestamp64Nano(Timestamp) AS "StartNs",
    toInt64(Duration) AS "DurationNs",
    TraceId AS "TraceId",
    SpanId AS "SpanId",
    ParentSpanId AS "ParentSpanId",
    toString(SpanName) AS "SpanName",
    nullIf(toString(ServiceName), '') AS "ServiceName",
    toString(StatusCode) AS "StatusCode",
    nullIf(StatusMessage, '') AS "StatusMessage",
    op AS "GenAiOperation",
    crewscope_crew(SpanAttributes) AS "CrewName",
    crewscope_attr(SpanAttributes, 'crewai.task.name') AS "TaskName",
    crewscope_attr(SpanAttributes, 'gen_ai.agent.name') AS "AgentName",
    crewscope_attr(SpanAttributes, 'gen_ai.tool.name') AS "ToolName",
    crewscope_model(SpanAttributes) AS "Model",
    crewscope_provider(SpanAttributes) AS "ProviderName",
    crewscope_int(SpanAttributes, 'gen_ai.usage.input_tokens') AS "InputTokens",
    crewscope_int(SpanAttributes, 'gen_ai.usage.output_tokens') AS "OutputTokens",
    crewscope_int(SpanAttributes, 'gen_ai.usage.cache_read.input_tokens') AS "CacheRead",
    crewscope_int(SpanAttributes, 'gen_ai.usage.cache_creation.input_tokens') AS "CacheWrite",
    crewscope_attr(SpanAttributes, 'error.type') AS "ErrorType",
    crewscope_attr(SpanAttributes, 'crewai.step.index') AS "StepIndex",
    crewscope_attr(SpanAttributes, 'crewai.step.type') AS "StepType",
    crewscope_attr(SpanAttributes, 'crewai.memory.operation') AS "MemoryOperation",
    crewscope_attr(SpanAttributes, 'crewai.flow.name') AS "Flow",
    crewscope_attr(SpanAttributes, 'crewscope.run.id') AS "RunId",
    crewscope_attr(SpanAttributes, 'crewscope.run.root_id') AS "RootRunId"
FROM otel_traces
WHERE op IS NOT NULL OR startsWith(SpanName, 'step ') OR startsWith(SpanName, 'memory ');

-- Log records; the body cut at 4096 characters (the feed's MAX_LIVE_BODY).
CREATE TABLE IF NOT EXISTS crewscope_live_logs (
    "Arrived"        DateTime64(9),
    "Row"            UInt64,
    "TimeNs"         Int64,
    "TraceId"        String,
    "SpanId"         String,
    "SeverityText"   Nullable(String),
    "SeverityNumber" Int32,
    "ServiceName"    Nullable(String),
    "Body"           Nullable(String),
    "EventName"      Nullable(String),
    "CrewName"       Nullable(String),
    "AgentName"      Nullable(String),
    "TaskName"       Nullable(String),
    "RunId"          Nullable(String),
    "RootRunId"      Nullable(String)
) ENGINE = MergeTree PARTITION BY toDate("Arrived") ORDER BY ("Arrived", "Row")
TTL toDateTime("Arrived") + toIntervalDay(1)
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_live_logs_mv TO crewscope_live_logs AS
SELECT
    now64(9) AS "Arrived",
    rand64() AS "Row",
    toUnixTimestamp64Nano(Timestamp) AS "TimeNs",
    TraceId AS "TraceId",
    SpanId AS "SpanId",
    nullIf(toString(SeverityText), '') AS "SeverityText",
    toInt32(SeverityNumber) AS "SeverityNumber",
    nullIf(toString(ServiceName), '') AS "ServiceName",
    nullIf(left(Body, 4096), '') AS "Body",
    coalesce(nullIf(EventName, ''), crewscope_attr(LogAttributes, 'event.name')) AS "EventName",
    crewscope_attr(LogAttributes, 'crewai.crew.name') AS "CrewName",
    crewscope_attr(LogAttributes, 'gen_ai.agent.name') AS "AgentName",
    crewscope_attr(LogAttributes, 'crewai.task.name') AS "TaskName",
    crewscope_attr(LogAttributes, 'crewscope.run.id') AS "RunId",
    crewscope_attr(LogAttributes, 'crewscope.run.root_id') AS "RootRunId"
FROM otel_logs;

-- Process stats (process.* points; the PID as schema_signals.sql's crewscope_pid, which is
-- created after this file) from both metric tables, one row per point; "Sub" is
-- the point's cpu.mode / context-switch type (the exporter's times are whole seconds, so
-- points of one second are told apart by it and by arrival). Temporality NULL for gauges.
CREATE TABLE IF NOT EXISTS crewscope_live_process (
    "Arrived"     DateTime64(9),
    "Row"         UInt64,
    "ServiceName" Nullable(String),
    "Pid"         Nullable(Int64),
    "CrewName"    Nullable(String),
    "AgentName"   Nullable(String),
    "MetricName"  String,
    "Sub"         String,
    "TimeNs"      Int64,
    "Value"       Float64,
    "Temporality" Nullable(Int32)
) ENGINE = MergeTree PARTITION BY toDate("Arrived") ORDER BY ("Arrived", "Row")
TTL toDateTime("Arrived") + toIntervalDay(1)
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_live_process_sum_mv TO crewscope_live_process AS
SELECT
    now64(9) AS "Arrived",
    rand64() AS "Row",
    nullIf(toString(ServiceName), '') AS "ServiceName",
    toInt64OrNull(coalesce(crewscope_attr(Attributes, 'process.pid'),
                           crewscope_attr(ResourceAttributes, 'process.pid'))) AS "Pid",
    crewscope_attr(Attributes, 'crewai.crew.name') AS "CrewName",
    crewscope_attr(Attributes, 'gen_ai.agent.name') AS "AgentName",
    toString(MetricName) AS "MetricName",
    coalesce(crewscope_attr(Attributes, 'cpu.mode'),
             crewscope_attr(Attributes, 'process.context_switch.type'), '') AS "Sub",
    toUnixTimestamp64Nano(toDateTime64(TimeUnix, 9, 'UTC')) AS "TimeNs",
    Value AS "Value",
    toNullable(AggregationTemporality) AS "Temporality"
FROM otel_metrics_sum
WHERE startsWith(MetricName, 'process.');

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_live_process_gauge_mv TO crewscope_live_process AS
SELECT
    now64(9) AS "Arrived",
    rand64() AS "Row",
    nullIf(toString(ServiceName), '') AS "ServiceName",
    toInt64OrNull(coalesce(crewscope_attr(Attributes, 'process.pid'),
                           crewscope_attr(ResourceAttributes, 'process.pid'))) AS "Pid",
    crewscope_attr(Attributes, 'crewai.crew.name') AS "CrewName",
    crewscope_attr(Attributes, 'gen_ai.agent.name') AS "AgentName",
    toString(MetricName) AS "MetricName",
    coalesce(crewscope_attr(Attributes, 'cpu.mode'), '') AS "Sub",
    toUnixTimestamp64Nano(toDateTime64(TimeUnix, 9, 'UTC')) AS "TimeNs",
    Value AS "Value",
    CAST(NULL, 'Nullable(Int32)') AS "Temporality"
FROM otel_metrics_gauge
WHERE startsWith(MetricName, 'process.');
