-- crewscope storage contract for the logs signal (DuckDB). Column names follow the
-- OpenTelemetry Collector ClickHouse exporter's otel_logs table (EventName included), so the
-- same queries can move to ClickHouse. As in otel_traces: MAP(VARCHAR, VARCHAR) attribute
-- columns, '' for a missing TraceId / SpanId, SeverityNumber as the OTLP number (1..24).
-- The columns after EventName are typed copies of the attributes the queries filter on,
-- filled by every ingest path (crewscope's instrumentation stamps them on records emitted
-- inside a run; records from elsewhere may have none).
CREATE TABLE IF NOT EXISTS otel_logs (
    "Timestamp"          TIMESTAMP_NS NOT NULL,
    "TraceId"            VARCHAR NOT NULL,
    "SpanId"             VARCHAR NOT NULL,
    "TraceFlags"         INTEGER NOT NULL,
    "SeverityText"       VARCHAR,
    "SeverityNumber"     INTEGER NOT NULL,
    "ServiceName"        VARCHAR,
    "Body"               VARCHAR,
    "ResourceSchemaUrl"  VARCHAR,
    "ResourceAttributes" MAP(VARCHAR, VARCHAR),
    "ScopeSchemaUrl"     VARCHAR,
    "ScopeName"          VARCHAR,
    "ScopeVersion"       VARCHAR,
    "ScopeAttributes"    MAP(VARCHAR, VARCHAR),
    "LogAttributes"      MAP(VARCHAR, VARCHAR),
    "EventName"          VARCHAR,
    -- promoted attributes
    "CrewName"           VARCHAR,   -- crewai.crew.name
    "AgentName"          VARCHAR,   -- gen_ai.agent.name
    "TaskName"           VARCHAR,   -- crewai.task.name
    "RunId"              VARCHAR,   -- crewscope.run.id (the run the record was emitted in)
    "RootRunId"          VARCHAR    -- crewscope.run.root_id (its top-level run)
);
