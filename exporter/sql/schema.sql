-- crewscope storage contract (DuckDB).
-- Column names follow the OpenTelemetry Collector ClickHouse exporter's otel_traces table,
-- so queries can move to ClickHouse later. Differences, by design:
--   * Events / Links are LIST(STRUCT) columns instead of ClickHouse Nested columns
--     (Events[i].Name here is "Events.Name"[i] there).
--   * Duration is BIGINT nanoseconds (UInt64 there).
--   * SpanKind / StatusCode use the Collector's strings: 'Internal', 'Server', 'Client',
--     'Producer', 'Consumer', 'Unspecified' / 'Unset', 'Ok', 'Error'.
--   * ParentSpanId is '' for a root span (as there).
-- The columns after Links are typed copies of hot attributes (see DESIGN.md),
-- filled by every ingest path from the span's attributes.
CREATE TABLE IF NOT EXISTS otel_traces (
    "Timestamp"          TIMESTAMP_NS NOT NULL,
    "TraceId"            VARCHAR NOT NULL,
    "SpanId"             VARCHAR NOT NULL,
    "ParentSpanId"       VARCHAR NOT NULL,
    "TraceState"         VARCHAR,
    "SpanName"           VARCHAR NOT NULL,
    "SpanKind"           VARCHAR NOT NULL,
    "ServiceName"        VARCHAR,
    "ResourceAttributes" MAP(VARCHAR, VARCHAR),
    "ScopeName"          VARCHAR,
    "ScopeVersion"       VARCHAR,
    "SpanAttributes"     MAP(VARCHAR, VARCHAR),
    "Duration"           BIGINT NOT NULL,
    "StatusCode"         VARCHAR NOT NULL,
    "StatusMessage"      VARCHAR,
    "Events"             STRUCT("Timestamp" TIMESTAMP_NS, "Name" VARCHAR, "Attributes" MAP(VARCHAR, VARCHAR))[],
    "Links"              STRUCT("TraceId" VARCHAR, "SpanId" VARCHAR, "TraceState" VARCHAR, "Attributes" MAP(VARCHAR, VARCHAR))[],
    -- promoted attributes
    "GenAiOperation"     VARCHAR,   -- gen_ai.operation.name
    "CrewName"           VARCHAR,   -- crewai.crew.name, else gen_ai.workflow.name
    "TaskName"           VARCHAR,   -- crewai.task.name
    "AgentName"          VARCHAR,   -- gen_ai.agent.name
    "ToolName"           VARCHAR,   -- gen_ai.tool.name
    "Model"              VARCHAR,   -- gen_ai.response.model, else gen_ai.request.model
    "ProviderName"       VARCHAR,   -- gen_ai.provider.name (or legacy gen_ai.system)
    "InputTokens"        BIGINT,    -- gen_ai.usage.input_tokens
    "OutputTokens"       BIGINT,    -- gen_ai.usage.output_tokens
    "CostUsd"            DOUBLE,    -- computed at ingest for chat spans; NULL if the model's price is unknown
    "ErrorType"          VARCHAR    -- error.type
);
