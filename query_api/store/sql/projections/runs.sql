-- Copy the run spans with rowid in [$lo, $hi] into crewscope_runs: flow and crew kickoffs
-- (invoke_workflow) and standalone agent kickoffs (invoke_agent marked as a run). Pure
-- projection of each span's own values (crewscope_run_spans, tables.sql).
INSERT INTO crewscope_runs
SELECT
    "TraceId",
    "SpanId",
    nullif("SpanAttributes"['crewscope.run.parent_id'], ''),
    coalesce(nullif("SpanAttributes"['crewscope.run.root_id'], ''), "SpanId"),
    kind,
    CASE WHEN kind = 'agent' THEN "AgentName" ELSE "CrewName" END,
    "SpanAttributes"['crewscope.flow.method'],
    "Timestamp",
    "Timestamp" + to_microseconds("Duration" // 1000),
    "Duration" / 1e6,
    CASE WHEN kind = 'crew' THEN "CrewName" END,
    "StatusCode" = 'Error',
    "StatusMessage",
    "ErrorType",
    "InputTokens",
    "OutputTokens",
    TRY_CAST("SpanAttributes"['crewscope.llm.calls'] AS BIGINT),
    "SpanAttributes"['crewai.crew.input_keys'],
    coalesce("SpanAttributes"['crewai.crew.inputs'], "SpanAttributes"['crewai.flow.inputs']),
    left("SpanAttributes"['crewscope.output.preview'], 1000)
FROM crewscope_run_spans($lo, $hi)
