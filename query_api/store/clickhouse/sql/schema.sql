-- What crewscope derives inside ClickHouse from the tables the Collector's clickhouseexporter
-- writes (otel_traces, ...; exporter_ddl.py). Nothing here is written by a crewscope process:
-- materialized views fill the projection tables on every insert into otel_traces, whoever
-- inserts (a Collector, `crewscope serve`, any number of them), so every query process sees
-- the same state. Views give the queries the column set of crewscope's DuckDB schema.
--
-- Attribute maps hold '' for a missing key; crewscope_attr turns that into NULL.
CREATE FUNCTION IF NOT EXISTS crewscope_attr AS (m, k) -> nullIf(m[k], '');
CREATE FUNCTION IF NOT EXISTS crewscope_int AS (m, k) -> toInt64OrNull(nullIf(m[k], ''));
-- The few functions the Where clauses written in code (queries/) use that ClickHouse names
-- otherwise, so one clause serves both engines.
CREATE FUNCTION IF NOT EXISTS contains AS (haystack, needle) -> position(haystack, needle) > 0;
CREATE FUNCTION IF NOT EXISTS starts_with AS (s, prefix) -> startsWith(s, prefix);
CREATE FUNCTION IF NOT EXISTS list_contains AS (l, x) -> has(l, x);
-- A process-stat point's PID: the point's process.pid attribute, else the resource's (as
-- DuckDB's TRY_CAST(... AS BIGINT): NULL when absent or not a whole number).
CREATE FUNCTION IF NOT EXISTS crewscope_pid AS (attrs, resource) ->
    toInt64OrNull(coalesce(crewscope_attr(attrs, 'process.pid'),
                           crewscope_attr(resource, 'process.pid')));
-- LLM-call operations (exporter/operations.py: chat, text_completion, generate_content, embeddings)
CREATE FUNCTION IF NOT EXISTS crewscope_is_llm AS (op) ->
    op IN ('chat', 'text_completion', 'generate_content', 'embeddings');
CREATE FUNCTION IF NOT EXISTS crewscope_model AS (m) ->
    coalesce(crewscope_attr(m, 'gen_ai.response.model'), crewscope_attr(m, 'gen_ai.request.model'));
CREATE FUNCTION IF NOT EXISTS crewscope_provider AS (m) ->
    coalesce(crewscope_attr(m, 'gen_ai.provider.name'), crewscope_attr(m, 'gen_ai.system'));
CREATE FUNCTION IF NOT EXISTS crewscope_crew AS (m) ->
    coalesce(crewscope_attr(m, 'crewai.crew.name'), crewscope_attr(m, 'gen_ai.workflow.name'));

-- Per-model prices (USD per token), filled by every query process for the models it sees
-- (prices.py: genai-prices and CREWSCOPE_PRICES_FILE); Known = 0 marks an unpriced model.
CREATE TABLE IF NOT EXISTS crewscope_prices (
    "Provider"   String,
    "Model"      String,
    "Known"      UInt8,
    "Fixed"      Float64,
    "Input"      Float64,
    "Output"     Float64,
    "CacheRead"  Float64,
    "CacheWrite" Float64,
    "Updated"    DateTime64(3) DEFAULT now64(3)
) ENGINE = ReplacingMergeTree("Updated") ORDER BY ("Provider", "Model");

CREATE DICTIONARY IF NOT EXISTS crewscope_prices_dict (
    "Provider"   String,
    "Model"      String,
    "Known"      UInt8,
    "Fixed"      Float64,
    "Input"      Float64,
    "Output"     Float64,
    "CacheRead"  Float64,
    "CacheWrite" Float64
) PRIMARY KEY "Provider", "Model"
SOURCE(CLICKHOUSE(TABLE 'crewscope_prices' DB '{{database}}'))
LAYOUT(COMPLEX_KEY_HASHED()) LIFETIME(MIN 1 MAX 5);

-- The projection tables (one row per span of a kind), filled by the views below.
CREATE TABLE IF NOT EXISTS crewscope_run_rows (
    "TraceId"       String,
    "SpanId"        String,
    "ParentRunId"   Nullable(String),
    "RootRunId"     String,
    "Kind"          LowCardinality(String),
    "Name"          Nullable(String),
    "FlowMethod"    Nullable(String),
    "Timestamp"     DateTime64(9),
    "EndTime"       DateTime64(9),
    "DurationMs"    Float64,
    "CrewName"      Nullable(String),
    "Failed"        Bool,
    "StatusMessage" Nullable(String),
    "ErrorType"     Nullable(String),
    "InputTokens"   Nullable(Int64),
    "OutputTokens"  Nullable(Int64),
    "LlmCalls"      Nullable(Int64),
    "InputKeys"     Nullable(String),
    "Inputs"        Nullable(String),
    "OutputPreview" Nullable(String),
    INDEX idx_span "SpanId" TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_trace "TraceId" TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_parent "ParentRunId" TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree ORDER BY ("Timestamp", "SpanId", "TraceId");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_run_rows_mv TO crewscope_run_rows AS
WITH
    crewscope_attr(SpanAttributes, 'gen_ai.operation.name') AS op,
    coalesce(
        crewscope_attr(SpanAttributes, 'crewscope.run.kind'),
        if(crewscope_attr(SpanAttributes, 'crewai.flow.name') IS NOT NULL, 'flow', 'crew')
    ) AS kind
SELECT
    TraceId AS "TraceId",
    SpanId AS "SpanId",
    crewscope_attr(SpanAttributes, 'crewscope.run.parent_id') AS "ParentRunId",
    coalesce(crewscope_attr(SpanAttributes, 'crewscope.run.root_id'), SpanId) AS "RootRunId",
    kind AS "Kind",
    if(kind = 'agent', crewscope_attr(SpanAttributes, 'gen_ai.agent.name'),
       crewscope_crew(SpanAttributes)) AS "Name",
    crewscope_attr(SpanAttributes, 'crewscope.flow.method') AS "FlowMethod",
    Timestamp AS "Timestamp",
    addMicroseconds(Timestamp, intDiv(Duration, 1000)) AS "EndTime",
    Duration / 1e6 AS "DurationMs",
    if(kind = 'crew', crewscope_crew(SpanAttributes), NULL) AS "CrewName",
    StatusCode = 'Error' AS "Failed",
    nullIf(StatusMessage, '') AS "StatusMessage",
    crewscope_attr(SpanAttributes, 'error.type') AS "ErrorType",
    crewscope_int(SpanAttributes, 'gen_ai.usage.input_tokens') AS "InputTokens",
    crewscope_int(SpanAttributes, 'gen_ai.usage.output_tokens') AS "OutputTokens",
    crewscope_int(SpanAttributes, 'crewscope.llm.calls') AS "LlmCalls",
    crewscope_attr(SpanAttributes, 'crewai.crew.input_keys') AS "InputKeys",
    coalesce(crewscope_attr(SpanAttributes, 'crewai.crew.inputs'),
             crewscope_attr(SpanAttributes, 'crewai.flow.inputs')) AS "Inputs",
    left(crewscope_attr(SpanAttributes, 'crewscope.output.preview'), 1000) AS "OutputPreview"
FROM otel_traces
WHERE op = 'invoke_workflow'
   OR (op = 'invoke_agent' AND crewscope_attr(SpanAttributes, 'crewscope.run.kind') = 'agent');

CREATE TABLE IF NOT EXISTS crewscope_task_rows (
    "TraceId"       String,
    "SpanId"        String,
    "ParentSpanId"  String,
    "RunId"         String,
    "RootRunId"     String,
    "Timestamp"     DateTime64(9),
    "EndTime"       DateTime64(9),
    "DurationMs"    Float64,
    "CrewName"      Nullable(String),
    "AgentName"     Nullable(String),
    "TaskName"      Nullable(String),
    "Failed"        Bool,
    "StatusMessage" Nullable(String),
    "ErrorType"     Nullable(String),
    "InputTokens"   Nullable(Int64),
    "OutputTokens"  Nullable(Int64),
    "LlmCalls"      Nullable(Int64),
    "ToolCalls"     Nullable(Int64),
    "OutputPreview" Nullable(String),
    "ServiceName"   LowCardinality(String),  -- not in DuckDB's crewscope_tasks (the view omits it)
    INDEX idx_span "SpanId" TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_trace "TraceId" TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_run "RunId" TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_root "RootRunId" TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_agent "AgentName" TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree ORDER BY ("Timestamp", "SpanId", "TraceId")
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;  -- schema_late_agents.sql

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_task_rows_mv TO crewscope_task_rows AS
SELECT
    TraceId AS "TraceId",
    SpanId AS "SpanId",
    ParentSpanId AS "ParentSpanId",
    coalesce(crewscope_attr(SpanAttributes, 'crewscope.run.id'), ParentSpanId) AS "RunId",
    coalesce(crewscope_attr(SpanAttributes, 'crewscope.run.root_id'),
             crewscope_attr(SpanAttributes, 'crewscope.run.id'), ParentSpanId) AS "RootRunId",
    Timestamp AS "Timestamp",
    addMicroseconds(Timestamp, intDiv(Duration, 1000)) AS "EndTime",
    Duration / 1e6 AS "DurationMs",
    crewscope_crew(SpanAttributes) AS "CrewName",
    crewscope_attr(SpanAttributes, 'gen_ai.agent.name') AS "AgentName",
    crewscope_attr(SpanAttributes, 'crewai.task.name') AS "TaskName",
    StatusCode = 'Error' AS "Failed",
    nullIf(StatusMessage, '') AS "StatusMessage",
    crewscope_attr(SpanAttributes, 'error.type') AS "ErrorType",
    crewscope_int(SpanAttributes, 'gen_ai.usage.input_tokens') AS "InputTokens",
    crewscope_int(SpanAttributes, 'gen_ai.usage.output_tokens') AS "OutputTokens",
    crewscope_int(SpanAttributes, 'crewscope.llm.calls') AS "LlmCalls",
    crewscope_int(SpanAttributes, 'crewscope.tool.calls') AS "ToolCalls",
    left(crewscope_attr(SpanAttributes, 'crewscope.output.preview'), 1000) AS "OutputPreview",
    ServiceName AS "ServiceName"
FROM otel_traces
WHERE crewscope_attr(SpanAttributes, 'gen_ai.operation.name') = 'invoke_agent';

-- LLM calls with what prices them (cost is read through crewscope_prices_dict, so a model
-- priced after its calls arrived is priced for them too). The call rows of LLM and tool
-- calls take the agent of a span stored after them by a lightweight UPDATE (block number
-- and offset columns: schema_late_agents.sql).
CREATE TABLE IF NOT EXISTS crewscope_llm_call_rows (
    "Timestamp"    DateTime64(9),
    "TraceId"      String,
    "SpanId"       String,
    "RunId"        String,
    "RootRunId"    Nullable(String),
    "Operation"    LowCardinality(String),
    "AgentName"    Nullable(String),
    "Model"        Nullable(String),
    "ProviderName" Nullable(String),
    "Failed"       Bool,
    "Duration"     Int64,
    "InputTokens"  Nullable(Int64),
    "OutputTokens" Nullable(Int64),
    "CacheRead"    Nullable(Int64),
    "CacheWrite"   Nullable(Int64)
) ENGINE = ReplacingMergeTree ORDER BY ("Timestamp", "SpanId")
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_llm_call_rows_mv TO crewscope_llm_call_rows AS
WITH crewscope_attr(SpanAttributes, 'gen_ai.operation.name') AS op
SELECT
    Timestamp AS "Timestamp",
    TraceId AS "TraceId",
    SpanId AS "SpanId",
    coalesce(crewscope_attr(SpanAttributes, 'crewscope.run.id'), TraceId) AS "RunId",
    crewscope_attr(SpanAttributes, 'crewscope.run.root_id') AS "RootRunId",
    op AS "Operation",
    crewscope_attr(SpanAttributes, 'gen_ai.agent.name') AS "AgentName",
    crewscope_model(SpanAttributes) AS "Model",
    crewscope_provider(SpanAttributes) AS "ProviderName",
    StatusCode = 'Error' AS "Failed",
    toInt64(Duration) AS "Duration",
    crewscope_int(SpanAttributes, 'gen_ai.usage.input_tokens') AS "InputTokens",
    crewscope_int(SpanAttributes, 'gen_ai.usage.output_tokens') AS "OutputTokens",
    crewscope_int(SpanAttributes, 'gen_ai.usage.cache_read.input_tokens') AS "CacheRead",
    crewscope_int(SpanAttributes, 'gen_ai.usage.cache_creation.input_tokens') AS "CacheWrite"
FROM otel_traces
WHERE crewscope_is_llm(op);

-- Every (provider, model) of an LLM call, once: where the price sync finds the models that
-- have no price yet (prices.py), instead of reading every call.
CREATE TABLE IF NOT EXISTS crewscope_call_models (
    "Provider" String,
    "Model"    String
) ENGINE = ReplacingMergeTree ORDER BY ("Provider", "Model");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_call_models_mv TO crewscope_call_models AS
SELECT DISTINCT coalesce("ProviderName", '') AS "Provider", assumeNotNull("Model") AS "Model"
FROM crewscope_llm_call_rows
WHERE "Model" IS NOT NULL;

-- Whether a call of `model` with these token counts has a cost (crewscope_cost_from is not
-- NULL for it once its model has a price): what the summed calls' PricedCalls count.
CREATE FUNCTION IF NOT EXISTS crewscope_priced AS (op, model, i, o) ->
    model IS NOT NULL AND (i IS NOT NULL OR (o IS NOT NULL AND op != 'embeddings'));

-- USD of one call (exporter/pricing.py ModelRate.cost; embeddings on their input only);
-- NULL when the model has no price or the call no tokens.
-- The cost of summed calls of one model (per-run and hourly sums), priced now.
CREATE FUNCTION IF NOT EXISTS crewscope_sums_cost AS
    (prices, op, model, provider, priced, i, o, cr, cw) ->
    if(priced = 0 OR model = '' OR dictGetOrDefault(prices, 'Known', tuple(provider, model), 0) = 0,
       NULL,
       priced * dictGet(prices, 'Fixed', tuple(provider, model))
       + greatest(i - if(op = 'embeddings', 0, cr + cw), 0)
         * dictGet(prices, 'Input', tuple(provider, model))
       + if(op = 'embeddings', 0,
            o * dictGet(prices, 'Output', tuple(provider, model))
            + cr * dictGet(prices, 'CacheRead', tuple(provider, model))
            + cw * dictGet(prices, 'CacheWrite', tuple(provider, model))));

-- Functions are global to the server, not per database: the prices dictionary is an
-- argument, '<database>.crewscope_prices_dict' at every call.
CREATE FUNCTION IF NOT EXISTS crewscope_cost_from AS (prices, op, model, provider, i, o, cr, cw) ->
    if(model IS NULL OR (i IS NULL AND (o IS NULL OR op = 'embeddings'))
       OR dictGetOrDefault(prices, 'Known',
                           tuple(coalesce(provider, ''), model), 0) = 0,
       NULL,
       round(
           dictGet(prices, 'Fixed', tuple(coalesce(provider, ''), model))
           + greatest(coalesce(i, 0) - if(op = 'embeddings', 0, coalesce(cr, 0) + coalesce(cw, 0)), 0)
             * dictGet(prices, 'Input', tuple(coalesce(provider, ''), model))
           + if(op = 'embeddings', 0, coalesce(o, 0))
             * dictGet(prices, 'Output', tuple(coalesce(provider, ''), model))
           + if(op = 'embeddings', 0, coalesce(cr, 0))
             * dictGet(prices, 'CacheRead', tuple(coalesce(provider, ''), model))
           + if(op = 'embeddings', 0, coalesce(cw, 0))
             * dictGet(prices, 'CacheWrite', tuple(coalesce(provider, ''), model)),
           12));

CREATE TABLE IF NOT EXISTS crewscope_tool_call_rows (
    "Timestamp" DateTime64(9),
    "SpanId"    String,
    "AgentName" Nullable(String),
    "ToolName"  Nullable(String),
    "Failed"    Bool,
    "Duration"  Int64
) ENGINE = ReplacingMergeTree ORDER BY ("Timestamp", "SpanId")
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_tool_call_rows_mv TO crewscope_tool_call_rows AS
SELECT
    Timestamp AS "Timestamp", SpanId AS "SpanId",
    crewscope_attr(SpanAttributes, 'gen_ai.agent.name') AS "AgentName",
    crewscope_attr(SpanAttributes, 'gen_ai.tool.name') AS "ToolName",
    StatusCode = 'Error' AS "Failed", toInt64(Duration) AS "Duration"
FROM otel_traces
WHERE crewscope_attr(SpanAttributes, 'gen_ai.operation.name') = 'execute_tool';

CREATE TABLE IF NOT EXISTS crewscope_memory_op_rows (
    "Timestamp" DateTime64(9),
    "SpanId"    String,
    "AgentName" Nullable(String),
    "Operation" Nullable(String),
    "Failed"    Bool,
    "Duration"  Int64
) ENGINE = ReplacingMergeTree ORDER BY ("Timestamp", "SpanId");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_memory_op_rows_mv TO crewscope_memory_op_rows AS
SELECT
    Timestamp AS "Timestamp", SpanId AS "SpanId",
    crewscope_attr(SpanAttributes, 'gen_ai.agent.name') AS "AgentName",
    coalesce(crewscope_attr(SpanAttributes, 'crewai.memory.operation'),
             nullIf(splitByChar(' ', SpanName)[2], '')) AS "Operation",
    StatusCode = 'Error' AS "Failed", toInt64(Duration) AS "Duration"
FROM otel_traces
WHERE startsWith(SpanName, 'memory ');

-- Per-run sums of every span (counts per run and, for a nested run, its top-level run; a
-- span naming no run counts under its TraceId), kept per model so that cost is priced at
-- read time: SummingMergeTree merges the rows of one key in the background, reads sum().
CREATE TABLE IF NOT EXISTS crewscope_run_sums (
    "RunId"        String,
    "Operation"    LowCardinality(String),
    "Model"        String,
    "ProviderName" String,
    "Spans"        UInt64,
    "Tasks"        UInt64,
    "Steps"        UInt64,
    "LlmCalls"     UInt64,
    "ToolCalls"    UInt64,
    "Errors"       UInt64,
    "PricedCalls"  UInt64,
    "InputTokens"  Int64,
    "OutputTokens" Int64,
    "CacheRead"    Int64,
    "CacheWrite"   Int64,
    "LastSeen"     SimpleAggregateFunction(max, DateTime64(9))  -- what retention's TTL reads
) ENGINE = SummingMergeTree ORDER BY ("RunId", "Operation", "Model", "ProviderName");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_run_sums_mv TO crewscope_run_sums AS
WITH
    SpanAttributes['gen_ai.operation.name'] AS op,
    coalesce(crewscope_attr(SpanAttributes, 'crewscope.run.id'), TraceId) AS run_id,
    crewscope_attr(SpanAttributes, 'crewscope.run.root_id') AS root_id,
    crewscope_is_llm(op) AS llm,
    crewscope_int(SpanAttributes, 'gen_ai.usage.input_tokens') AS i,
    crewscope_int(SpanAttributes, 'gen_ai.usage.output_tokens') AS o,
    crewscope_model(SpanAttributes) AS model
SELECT
    arrayJoin(if(root_id IS NULL OR root_id = run_id, [run_id], [run_id, root_id])) AS "RunId",
    if(llm, op, '') AS "Operation",
    if(llm, coalesce(model, ''), '') AS "Model",
    if(llm, coalesce(crewscope_provider(SpanAttributes), ''), '') AS "ProviderName",
    1 AS "Spans",
    op = 'invoke_agent' AS "Tasks",
    startsWith(SpanName, 'step ') AS "Steps",
    llm AS "LlmCalls",
    op = 'execute_tool' AS "ToolCalls",
    StatusCode = 'Error' AS "Errors",
    llm AND model IS NOT NULL AND (i IS NOT NULL OR (o IS NOT NULL AND op != 'embeddings'))
        AND NOT (op = 'embeddings' AND i IS NULL) AS "PricedCalls",
    if(llm, coalesce(i, 0), 0) AS "InputTokens",
    if(llm, coalesce(o, 0), 0) AS "OutputTokens",
    if(llm, coalesce(crewscope_int(SpanAttributes, 'gen_ai.usage.cache_read.input_tokens'), 0), 0) AS "CacheRead",
    if(llm, coalesce(crewscope_int(SpanAttributes, 'gen_ai.usage.cache_creation.input_tokens'), 0), 0) AS "CacheWrite",
    Timestamp AS "LastSeen"
FROM otel_traces;

-- Every span as the exporter stores it (but for its links), by trace: otel_traces is sorted
-- by service, span name and second, so a trace's spans lie in many granules of the day's
-- parts and reading one trace decompresses thousands of attribute maps; here a trace is a
-- few contiguous rows of its day. crewscope_spans reads this copy (time windows prune by
-- day here as there).
CREATE TABLE IF NOT EXISTS crewscope_spans_by_trace (
    "Timestamp"          DateTime64(9) CODEC(Delta, ZSTD(1)),
    "TraceId"            String CODEC(ZSTD(1)),
    "SpanId"             String CODEC(ZSTD(1)),
    "ParentSpanId"       String CODEC(ZSTD(1)),
    "TraceState"         String CODEC(ZSTD(1)),
    "SpanName"           LowCardinality(String) CODEC(ZSTD(1)),
    "SpanKind"           LowCardinality(String) CODEC(ZSTD(1)),
    "ServiceName"        LowCardinality(String) CODEC(ZSTD(1)),
    "ResourceAttributes" Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    "ScopeName"          String CODEC(ZSTD(1)),
    "ScopeVersion"       String CODEC(ZSTD(1)),
    "SpanAttributes"     Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    "Duration"           UInt64 CODEC(ZSTD(1)),
    "StatusCode"         LowCardinality(String) CODEC(ZSTD(1)),
    "StatusMessage"      String CODEC(ZSTD(1)),
    "EventTimes"         Array(DateTime64(9)) CODEC(ZSTD(1)),
    "EventNames"         Array(LowCardinality(String)) CODEC(ZSTD(1)),
    "EventAttributes"    Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    -- what crewscope_spans derives from the attributes, derived once here
    "GenAiOperation"     LowCardinality(Nullable(String)),
    "CrewName"           Nullable(String),
    "TaskName"           Nullable(String),
    "AgentName"          Nullable(String),
    "ToolName"           Nullable(String),
    "Model"              Nullable(String),
    "ProviderName"       Nullable(String),
    "InputTokens"        Nullable(Int64),
    "OutputTokens"       Nullable(Int64),
    "CacheRead"          Nullable(Int64),
    "CacheWrite"         Nullable(Int64),
    "ErrorType"          Nullable(String)
) ENGINE = MergeTree PARTITION BY toDate("Timestamp") ORDER BY ("TraceId", "Timestamp", "SpanId")
SETTINGS index_granularity = 1024,  -- block columns: schema_late_agents.sql names late calls
         enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_spans_by_trace_mv TO crewscope_spans_by_trace AS
SELECT
    Timestamp AS "Timestamp", TraceId AS "TraceId", SpanId AS "SpanId",
    ParentSpanId AS "ParentSpanId", TraceState AS "TraceState", SpanName AS "SpanName",
    SpanKind AS "SpanKind", ServiceName AS "ServiceName",
    ResourceAttributes AS "ResourceAttributes", ScopeName AS "ScopeName",
    ScopeVersion AS "ScopeVersion", SpanAttributes AS "SpanAttributes", Duration AS "Duration",
    StatusCode AS "StatusCode", StatusMessage AS "StatusMessage",
    `Events.Timestamp` AS "EventTimes", `Events.Name` AS "EventNames",
    `Events.Attributes` AS "EventAttributes",
    crewscope_attr(SpanAttributes, 'gen_ai.operation.name') AS "GenAiOperation",
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
    crewscope_attr(SpanAttributes, 'error.type') AS "ErrorType"
FROM otel_traces;

-- The column sets of crewscope's DuckDB tables, for the queries (sql/reads/).
CREATE OR REPLACE VIEW crewscope_spans AS
SELECT
    t.Timestamp AS "Timestamp", t.TraceId AS "TraceId", t.SpanId AS "SpanId",
    t.ParentSpanId AS "ParentSpanId", t.TraceState AS "TraceState", t.SpanName AS "SpanName",
    t.SpanKind AS "SpanKind", t.ServiceName AS "ServiceName",
    CAST(t.ResourceAttributes, 'Map(String, Nullable(String))') AS "ResourceAttributes",
    t.ScopeName AS "ScopeName", t.ScopeVersion AS "ScopeVersion",
    CAST(t.SpanAttributes, 'Map(String, Nullable(String))') AS "SpanAttributes",
    toInt64(t.Duration) AS "Duration", t.StatusCode AS "StatusCode",
    t.StatusMessage AS "StatusMessage",
    t.EventTimes AS "EventTimes", t.EventNames AS "EventNames",
    t.EventAttributes AS "EventAttributes",
    t.GenAiOperation AS "GenAiOperation", t.CrewName AS "CrewName", t.TaskName AS "TaskName",
    t.AgentName AS "AgentName", t.ToolName AS "ToolName", t.Model AS "Model",
    t.ProviderName AS "ProviderName", t.InputTokens AS "InputTokens",
    t.OutputTokens AS "OutputTokens",
    if(t.GenAiOperation IS NULL OR crewscope_is_llm(t.GenAiOperation),
       crewscope_cost_from('{{database}}.crewscope_prices_dict', t.GenAiOperation, t.Model,
                           t.ProviderName, t.InputTokens, t.OutputTokens, t.CacheRead,
                           t.CacheWrite),
       NULL) AS "CostUsd",
    t.ErrorType AS "ErrorType"
FROM crewscope_spans_by_trace AS t;

CREATE OR REPLACE VIEW crewscope_runs AS SELECT * FROM crewscope_run_rows;
CREATE OR REPLACE VIEW crewscope_tasks AS SELECT * EXCEPT ("ServiceName") FROM crewscope_task_rows;
CREATE OR REPLACE VIEW crewscope_tool_calls AS SELECT * FROM crewscope_tool_call_rows;
CREATE OR REPLACE VIEW crewscope_memory_ops AS SELECT * FROM crewscope_memory_op_rows;
CREATE OR REPLACE VIEW crewscope_llm_calls AS
SELECT *, crewscope_cost_from('{{database}}.crewscope_prices_dict', "Operation", "Model", "ProviderName", "InputTokens", "OutputTokens",
                         "CacheRead", "CacheWrite") AS "CostUsd"
FROM crewscope_llm_call_rows;

CREATE OR REPLACE VIEW crewscope_run_totals AS
SELECT
    "RunId",
    toInt64(sum("Spans")) AS "Spans", toInt64(sum("Tasks")) AS "Tasks",
    toInt64(sum("Steps")) AS "Steps", toInt64(sum("LlmCalls")) AS "LlmCalls",
    toInt64(sum("ToolCalls")) AS "ToolCalls", toInt64(sum("Errors")) AS "Errors",
    sum(cost) AS "CostUsd"
FROM (
    SELECT
        "RunId", sum("Spans") AS "Spans", sum("Tasks") AS "Tasks", sum("Steps") AS "Steps",
        sum("LlmCalls") AS "LlmCalls", sum("ToolCalls") AS "ToolCalls", sum("Errors") AS "Errors",
        crewscope_sums_cost('{{database}}.crewscope_prices_dict', "Operation", "Model",
                           "ProviderName", sum("PricedCalls"), sum("InputTokens"),
                           sum("OutputTokens"), sum("CacheRead"), sum("CacheWrite")) AS cost
    FROM crewscope_run_sums
    GROUP BY "RunId", "Operation", "Model", "ProviderName"
)
GROUP BY "RunId";
