-- Agents of LLM and tool calls whose enclosing agent span is stored after them (loaded
-- after schema.sql; the moves of the hourly and daily sums in schema_rollups_late.sql).
--
-- Other instrumentations' LLM-call and tool spans name no agent: row conversion gives them
-- the agent of their nearest enclosing span that names one (exporter/peer_traces.py), but
-- only when that span is in the same export batch or an earlier one seen by the same
-- process. An agent span ends, and is exported, after its calls, so calls exported in an
-- earlier batch (the agent's work outlasted the exporter's schedule delay), or received by
-- another process, are stored without an agent. ClickHouse names them on the insert that
-- completes the path, whoever inserts:
--
-- 1. crewscope_orphan_calls keeps every LLM and tool call of another instrumentation stored
--    without an agent, and every task (invoke_agent span) stored without a crew, by trace;
-- 2. on every insert into otel_traces, the inserted spans of traces that hold orphans pass
--    through crewscope_late_trigger_spans (an insert of crewscope's own runs passes none);
--    crewscope_late_calls_mv takes their traces' orphans (stored before or inserted now) not
--    named yet, and walks up each one's parent ids over the trace's stored spans
--    (crewscope_spans_by_trace) and the inserted ones, to its nearest ancestor naming an
--    agent (a crew, for a task); an orphan that has one gets a row in crewscope_late_calls
--    (a call beside its agent, in a parallel branch, has none);
-- 3. each such call moves its sums from the no-agent bucket to its agent in the hourly LLM
--    sums, and adds to its agent's daily sums (schema_rollups_late.sql);
-- 4. the call rows (crewscope_llm_call_rows, crewscope_tool_call_rows) get the agent, the
--    task rows (crewscope_task_rows) the crew, by a lightweight UPDATE (late_agents.py), run
--    by the serve process that inserted the batch, and by every process at open for what is
--    still pending (what a Collector inserted).
--
-- otel_traces and crewscope_spans_by_trace keep the spans as they were stored. A rebuild of
-- the tables refills crewscope_late_calls from every stored span, and the call rows get the
-- agents again before the sums are refilled from them (layout.py). Two inserts of one trace
-- at the same instant, by two writers, may both miss an orphan's name (the next insert into
-- the trace finds it) or both name it (its sums then move twice, as a span delivered twice
-- counts twice).

-- Other instrumentations' spans that name what a later span may name: LLM and tool calls
-- without an agent, tasks (invoke_agent) without a crew (crewscope's own name theirs).
CREATE FUNCTION IF NOT EXISTS crewscope_orphan AS (scope, op, m) ->
    NOT startsWith(scope, 'crewscope')
    AND if(op = 'invoke_agent', crewscope_crew(m) IS NULL,
           (crewscope_is_llm(op) OR op = 'execute_tool')
           AND crewscope_attr(m, 'gen_ai.agent.name') IS NULL);

CREATE TABLE IF NOT EXISTS crewscope_orphan_calls (
    "Kind"         LowCardinality(String),  -- 'llm', 'tool' or 'task'
    "TraceId"      String,
    "SpanId"       String,
    "ParentSpanId" String,
    "Timestamp"    DateTime64(9),
    "Operation"    LowCardinality(String),
    "Model"        Nullable(String),
    "ProviderName" Nullable(String),
    "Failed"       Bool,
    "InputTokens"  Nullable(Int64),
    "OutputTokens" Nullable(Int64),
    "CacheRead"    Nullable(Int64),
    "CacheWrite"   Nullable(Int64)
) ENGINE = ReplacingMergeTree ORDER BY ("TraceId", "SpanId");

CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_orphan_calls_mv TO crewscope_orphan_calls AS
WITH crewscope_attr(SpanAttributes, 'gen_ai.operation.name') AS op
SELECT
    multiIf(op = 'execute_tool', 'tool', op = 'invoke_agent', 'task', 'llm') AS "Kind",
    TraceId AS "TraceId", SpanId AS "SpanId", ParentSpanId AS "ParentSpanId",
    Timestamp AS "Timestamp", op AS "Operation",
    crewscope_model(SpanAttributes) AS "Model",
    crewscope_provider(SpanAttributes) AS "ProviderName",
    StatusCode = 'Error' AS "Failed",
    crewscope_int(SpanAttributes, 'gen_ai.usage.input_tokens') AS "InputTokens",
    crewscope_int(SpanAttributes, 'gen_ai.usage.output_tokens') AS "OutputTokens",
    crewscope_int(SpanAttributes, 'gen_ai.usage.cache_read.input_tokens') AS "CacheRead",
    crewscope_int(SpanAttributes, 'gen_ai.usage.cache_creation.input_tokens') AS "CacheWrite"
FROM otel_traces
WHERE crewscope_orphan(ScopeName, op, SpanAttributes);

-- The orphan calls (and tasks) named by a later span, with what the sums count of them:
-- "Name" is the agent of a call, the crew of a task.
CREATE TABLE IF NOT EXISTS crewscope_late_calls (
    "Kind"         LowCardinality(String),
    "TraceId"      String,
    "SpanId"       String,
    "Timestamp"    DateTime64(9),
    "Name"         String,
    "Operation"    LowCardinality(String),
    "Model"        Nullable(String),
    "ProviderName" Nullable(String),
    "Failed"       Bool,
    "InputTokens"  Nullable(Int64),
    "OutputTokens" Nullable(Int64),
    "CacheRead"    Nullable(Int64),
    "CacheWrite"   Nullable(Int64)
) ENGINE = ReplacingMergeTree ORDER BY ("TraceId", "SpanId");

-- The inserted spans of the traces that hold orphans (stored before or inserted now): what
-- fires crewscope_late_calls_mv, so an insert of crewscope's own runs (no orphans) costs
-- one lookup of its trace ids here and nothing more (a view does not fire on an empty
-- block). Kept an hour; a rebuild reads this view's SELECT in its place (layout.py).
CREATE TABLE IF NOT EXISTS crewscope_late_trigger_spans (
    "Arrived"      DateTime,
    "TraceId"      String,
    "SpanId"       String,
    "ParentSpanId" String,
    "StartTime"    DateTime64(9),
    "Agent"        String,
    "Crew"         String,
    "Kind"         LowCardinality(String),  -- of an orphan, else ''
    "Operation"    LowCardinality(String),
    "Model"        Nullable(String),
    "ProviderName" Nullable(String),
    "Failed"       Bool,
    "InputTokens"  Nullable(Int64),
    "OutputTokens" Nullable(Int64),
    "CacheRead"    Nullable(Int64),
    "CacheWrite"   Nullable(Int64)
) ENGINE = MergeTree ORDER BY ("TraceId", "SpanId")
TTL "Arrived" + toIntervalHour(1)
SETTINGS ttl_only_drop_parts = 1;

-- In a materialized view every otel_traces below is the inserted block (on a refill, the
-- whole table); a view fires on inserts into the first table of its outer FROM.
CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_late_trigger_spans_mv TO crewscope_late_trigger_spans AS
WITH crewscope_attr(SpanAttributes, 'gen_ai.operation.name') AS op
SELECT
    now() AS "Arrived",
    TraceId AS "TraceId", SpanId AS "SpanId", ParentSpanId AS "ParentSpanId",
    Timestamp AS "StartTime",
    coalesce(crewscope_attr(SpanAttributes, 'gen_ai.agent.name'), '') AS "Agent",
    coalesce(crewscope_crew(SpanAttributes), '') AS "Crew",
    if(crewscope_orphan(ScopeName, op, SpanAttributes),
       multiIf(op = 'execute_tool', 'tool', op = 'invoke_agent', 'task', 'llm'), '') AS "Kind",
    coalesce(op, '') AS "Operation",
    crewscope_model(SpanAttributes) AS "Model",
    crewscope_provider(SpanAttributes) AS "ProviderName",
    StatusCode = 'Error' AS "Failed",
    crewscope_int(SpanAttributes, 'gen_ai.usage.input_tokens') AS "InputTokens",
    crewscope_int(SpanAttributes, 'gen_ai.usage.output_tokens') AS "OutputTokens",
    crewscope_int(SpanAttributes, 'gen_ai.usage.cache_read.input_tokens') AS "CacheRead",
    crewscope_int(SpanAttributes, 'gen_ai.usage.cache_creation.input_tokens') AS "CacheWrite"
FROM otel_traces
WHERE TraceId IN (
        SELECT "TraceId" FROM crewscope_orphan_calls
        WHERE "TraceId" IN (SELECT TraceId FROM otel_traces))
   OR TraceId IN (
        SELECT TraceId FROM otel_traces
        WHERE crewscope_orphan(ScopeName, crewscope_attr(SpanAttributes, 'gen_ai.operation.name'),
                               SpanAttributes));

-- Below, crewscope_late_trigger_spans is the block its view inserted. The walk: (span, name
-- found) from the orphan's parent, up to MAX_DEPTH (256) steps.
CREATE MATERIALIZED VIEW IF NOT EXISTS crewscope_late_calls_mv TO crewscope_late_calls AS
WITH
    orphans AS (
        SELECT * FROM (
            SELECT * FROM crewscope_orphan_calls
            WHERE "TraceId" IN (SELECT "TraceId" FROM crewscope_late_trigger_spans)
            UNION ALL
            SELECT "Kind", "TraceId", "SpanId", "ParentSpanId", "StartTime", "Operation",
                   "Model", "ProviderName", "Failed", "InputTokens", "OutputTokens",
                   "CacheRead", "CacheWrite"
            FROM crewscope_late_trigger_spans
            WHERE "Kind" != ''
        )
        WHERE ("TraceId", "SpanId") NOT IN (
            SELECT "TraceId", "SpanId" FROM crewscope_late_calls
            WHERE "TraceId" IN (SELECT "TraceId" FROM crewscope_late_trigger_spans)
        )
        LIMIT 1 BY "TraceId", "SpanId"
    ),
    paths AS (  -- per trace: each span's parent, agent and crew ('' for none)
        SELECT "TraceId", mapFromArrays(groupArray("SpanId"), groupArray("ParentSpanId")) AS parents,
               mapFromArrays(groupArray("SpanId"), groupArray(agent)) AS agents,
               mapFromArrays(groupArray("SpanId"), groupArray(crew)) AS crews
        FROM (
            SELECT "TraceId", "SpanId", "ParentSpanId", coalesce("AgentName", '') AS agent,
                   coalesce("CrewName", '') AS crew
            FROM crewscope_spans_by_trace
            WHERE "TraceId" IN (SELECT "TraceId" FROM crewscope_late_trigger_spans)
            UNION ALL
            SELECT "TraceId", "SpanId", "ParentSpanId", "Agent", "Crew"
            FROM crewscope_late_trigger_spans
        )
        GROUP BY "TraceId"
    )
SELECT
    o."Kind" AS "Kind", o."TraceId" AS "TraceId", o."SpanId" AS "SpanId",
    o."Timestamp" AS "Timestamp",
    arrayFold((acc, x) -> if(acc.2 != '' OR acc.1 = '', acc,
                             (p.parents[acc.1], if(o."Kind" = 'task', p.crews, p.agents)[acc.1])),
              range(256), (o."ParentSpanId", '')).2 AS "Name",
    o."Operation" AS "Operation", o."Model" AS "Model", o."ProviderName" AS "ProviderName",
    o."Failed" AS "Failed", o."InputTokens" AS "InputTokens", o."OutputTokens" AS "OutputTokens",
    o."CacheRead" AS "CacheRead", o."CacheWrite" AS "CacheWrite"
FROM (SELECT DISTINCT "TraceId" FROM crewscope_late_trigger_spans) AS b  -- what fires it
INNER JOIN orphans AS o ON o."TraceId" = b."TraceId"
INNER JOIN paths AS p ON p."TraceId" = b."TraceId"
WHERE "Name" != '';
