-- Tables owned by crewscope.query_api, next to otel_traces (exporter/sql/schema.sql).
--
-- crewscope_runs / crewscope_tasks are projections: one row per run span (a flow or crew
-- kickoff, or a standalone agent kickoff; nested crew runs of a flow too, with their
-- ParentRunId) and per invoke_agent span (a task execution), copied from otel_traces by
-- projections.py in rowid order (watermark in crewscope_meta). They hold only values of the
-- span itself, so they can always be rebuilt from otel_traces; they exist so that lists,
-- totals, lookups by id and agent metrics never scan every span.
--
-- crewscope_rollup_* are the daily rollups. They survive retention (cleanup deletes spans,
-- never rollups); DurationsMs keeps each day's sorted execution times so percentiles over
-- several days are exact and equal to the realtime ones.

-- The spans and log records as the queries both engines run read them: on ClickHouse these
-- names are views with the column sets of otel_traces and otel_logs here
-- (clickhouse/sql/schema.sql, schema_signals.sql; clickhouse/queries.py SHARED_TEXT).
CREATE OR REPLACE VIEW crewscope_spans AS SELECT * FROM otel_traces;
CREATE OR REPLACE VIEW crewscope_logs AS SELECT * FROM otel_logs;
-- A span's end: its start plus its duration (ns) in whole microseconds, as the projections
-- compute EndTime; ClickHouse has a function of the same name (schema_functions.sql).
CREATE OR REPLACE MACRO crewscope_end(ts, duration_ns) AS ts + to_microseconds(duration_ns // 1000);
-- The start of the width_s-second time-series bucket of ts (UTC, buckets aligned to whole
-- days); ClickHouse has a function of the same name (clickhouse/sql/schema_functions.sql).
CREATE OR REPLACE MACRO crewscope_bucket(ts, width_s) AS time_bucket(to_seconds(width_s), ts::TIMESTAMP);
-- [median, 95th percentile] of x, continuous (one selection for both; ClickHouse: the
-- function of the same name).
CREATE OR REPLACE MACRO crewscope_p50_p95(x) AS quantile_cont(x, [0.5, 0.95]);

CREATE TABLE IF NOT EXISTS crewscope_meta (
    "Key"   VARCHAR PRIMARY KEY,
    "Value" VARCHAR
);

CREATE TABLE IF NOT EXISTS crewscope_runs (
    "TraceId"       VARCHAR NOT NULL,
    "SpanId"        VARCHAR NOT NULL,           -- the run id
    "ParentRunId"   VARCHAR,                    -- NULL for a top-level run
    "RootRunId"     VARCHAR NOT NULL,           -- the top-level run (its own id if top-level)
    "Kind"          VARCHAR NOT NULL,           -- flow | crew | agent
    "Name"          VARCHAR,                    -- flow, crew or agent name
    "FlowMethod"    VARCHAR,                    -- a crew run in a flow: the method it ran under
    "Timestamp"     TIMESTAMP_NS NOT NULL,
    "EndTime"       TIMESTAMP_NS NOT NULL,
    "DurationMs"    DOUBLE NOT NULL,
    "CrewName"      VARCHAR,
    "Failed"        BOOLEAN NOT NULL,
    "StatusMessage" VARCHAR,
    "ErrorType"     VARCHAR,
    "InputTokens"   BIGINT,
    "OutputTokens"  BIGINT,
    "LlmCalls"      BIGINT,
    "InputKeys"     VARCHAR,
    "Inputs"        VARCHAR,
    "OutputPreview" VARCHAR
);

-- The spans with rowid in [lo, hi], each with `copied`: the values that crewscope_runs and
-- crewscope_tasks take alike from their span, as a struct whose fields are named as the
-- tables' columns (projections/runs.sql and tasks.sql insert BY NAME from `copied.*`).
CREATE OR REPLACE MACRO crewscope_projected_spans(lo, hi) AS TABLE
SELECT *, struct_pack(
    "TraceId",
    "SpanId",
    "Timestamp",
    "EndTime" := crewscope_end("Timestamp", "Duration"),
    "DurationMs" := "Duration" / 1e6,
    "Failed" := "StatusCode" = 'Error',
    "StatusMessage",
    "ErrorType",
    "InputTokens",
    "OutputTokens",
    "LlmCalls" := TRY_CAST("SpanAttributes"['crewscope.llm.calls'] AS BIGINT),
    "OutputPreview" := left("SpanAttributes"['crewscope.output.preview'], 1000)
) AS copied
FROM otel_traces
WHERE rowid BETWEEN lo AND hi;

-- The run spans among the spans with rowid in [lo, hi], with their kind: flow and crew
-- kickoffs (invoke_workflow) and standalone agent kickoffs (invoke_agent marked as a run).
-- The instrumentation stamps the run attributes when a span starts; spans without them
-- (written before, or by other instrumentations) are top-level runs of their own.
CREATE OR REPLACE MACRO crewscope_run_spans(lo, hi) AS TABLE
SELECT *, coalesce(
    "SpanAttributes"['crewscope.run.kind'],
    CASE WHEN "SpanAttributes"['crewai.flow.name'] IS NOT NULL THEN 'flow' ELSE 'crew' END
) AS kind
FROM crewscope_projected_spans(lo, hi)
WHERE ("GenAiOperation" = 'invoke_workflow'
       OR ("GenAiOperation" = 'invoke_agent' AND "SpanAttributes"['crewscope.run.kind'] = 'agent'));

CREATE TABLE IF NOT EXISTS crewscope_tasks (
    "TraceId"       VARCHAR NOT NULL,
    "SpanId"        VARCHAR NOT NULL,
    "ParentSpanId"  VARCHAR NOT NULL,
    "RunId"         VARCHAR NOT NULL,           -- the crew run (or agent run) it belongs to
    "RootRunId"     VARCHAR NOT NULL,           -- the top-level run
    "Timestamp"     TIMESTAMP_NS NOT NULL,
    "EndTime"       TIMESTAMP_NS NOT NULL,
    "DurationMs"    DOUBLE NOT NULL,
    "CrewName"      VARCHAR,
    "AgentName"     VARCHAR,
    "TaskName"      VARCHAR,
    "Failed"        BOOLEAN NOT NULL,
    "StatusMessage" VARCHAR,
    "ErrorType"     VARCHAR,
    "InputTokens"   BIGINT,
    "OutputTokens"  BIGINT,
    "LlmCalls"      BIGINT,
    "ToolCalls"     BIGINT,
    "OutputPreview" VARCHAR
);

-- crewscope_rollup_agent_daily and crewscope_rollup_crew_daily: rollup_table.sql.

CREATE TABLE IF NOT EXISTS crewscope_rollup_agent_errors_daily (
    "Day"       DATE NOT NULL,
    "AgentName" VARCHAR NOT NULL,
    "ErrorType" VARCHAR,
    "Error"     VARCHAR NOT NULL,
    "Count"     BIGINT NOT NULL
);

-- Per-run totals, summed incrementally from every synced span (order-independent, so a
-- child span arriving after its run still counts). A span counts for the run it belongs to
-- and for its top-level run; spans that name no run (other instrumentations, data written
-- before runs were stamped on spans) count under their TraceId.
CREATE TABLE IF NOT EXISTS crewscope_run_totals (
    "RunId"     VARCHAR PRIMARY KEY,
    "Spans"     BIGINT NOT NULL,
    "Tasks"     BIGINT NOT NULL,
    "Steps"     BIGINT NOT NULL,
    "LlmCalls"  BIGINT NOT NULL,
    "ToolCalls" BIGINT NOT NULL,
    "Errors"    BIGINT NOT NULL,
    "CostUsd"   DOUBLE
);

-- Narrow projections of the spans that the usage queries aggregate (LLM calls, tool calls,
-- memory operations): one row per span with only the columns those queries read, so a
-- window over them scans a few small columns instead of every span's (tools and LLM usage,
-- memory stats, agent cost). Projections of each span, rebuilt with the others, except that
-- an LLM or tool call without an agent takes the agent of its nearest enclosing span that
-- names one, also when that span is synced later (other instrumentations' calls name no
-- agent; query_api/store/late_agents.py).
CREATE TABLE IF NOT EXISTS crewscope_llm_calls (
    "Timestamp"    TIMESTAMP_NS NOT NULL,
    "AgentName"    VARCHAR,
    "Model"        VARCHAR,
    "ProviderName" VARCHAR,
    "Failed"       BOOLEAN NOT NULL,
    "Duration"     BIGINT NOT NULL,
    "InputTokens"  BIGINT,
    "OutputTokens" BIGINT,
    "CostUsd"      DOUBLE,
    "TraceId"      VARCHAR NOT NULL,           -- the span (late_agents.py fills a NULL agent
    "SpanId"       VARCHAR NOT NULL            -- from an enclosing span synced later)
);

CREATE TABLE IF NOT EXISTS crewscope_tool_calls (
    "Timestamp" TIMESTAMP_NS NOT NULL,
    "AgentName" VARCHAR,
    "ToolName"  VARCHAR,
    "Failed"    BOOLEAN NOT NULL,
    "Duration"  BIGINT NOT NULL,
    "TraceId"   VARCHAR NOT NULL,
    "SpanId"    VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS crewscope_memory_ops (
    "Timestamp" TIMESTAMP_NS NOT NULL,
    "AgentName" VARCHAR,
    "Operation" VARCHAR,
    "Failed"    BOOLEAN NOT NULL,
    "Duration"  BIGINT NOT NULL
);

-- Hourly sums per agent and of top-level runs, added to incrementally from every synced span (like
-- crewscope_run_totals: order-independent, so late spans count). Windowed totals read
-- whole hours here and only the partial hours at a window's edges from the projections
-- (`query_api/windows.py`), so 30-day totals scan ~720 rows per agent instead of every
-- execution. '' stands for "no agent" / "no crew name" (key columns cannot be NULL).
CREATE TABLE IF NOT EXISTS crewscope_agent_hourly (
    "Hour"         TIMESTAMP NOT NULL,
    "AgentName"    VARCHAR NOT NULL,
    "Executions"   BIGINT NOT NULL DEFAULT 0,  -- invoke_agent spans started in the hour
    "Failed"       BIGINT NOT NULL DEFAULT 0,
    "SumMs"        DOUBLE NOT NULL DEFAULT 0,
    "MinMs"        DOUBLE,
    "MaxMs"        DOUBLE,
    "InputTokens"  BIGINT NOT NULL DEFAULT 0,
    "OutputTokens" BIGINT NOT NULL DEFAULT 0,
    "LastTs"       TIMESTAMP_NS,               -- latest execution start in the hour
    "LlmCalls"     BIGINT NOT NULL DEFAULT 0,  -- LLM-call spans started in the hour
    "CostUsd"      DOUBLE,                     -- their cost (NULL if none was priced)
    PRIMARY KEY ("Hour", "AgentName")
);

CREATE TABLE IF NOT EXISTS crewscope_run_hourly (
    "Hour"         TIMESTAMP NOT NULL,
    "Kind"         VARCHAR NOT NULL,
    "Name"         VARCHAR NOT NULL,
    "Runs"         BIGINT NOT NULL,            -- top-level runs started in the hour
    "Failed"       BIGINT NOT NULL,
    "InputTokens"  BIGINT NOT NULL,
    "OutputTokens" BIGINT NOT NULL,
    PRIMARY KEY ("Hour", "Kind", "Name")
);
