-- Copy the crew-kickoff spans (invoke_workflow spans that are not flows) with rowid in
-- [$lo, $hi] into crewscope_runs. Pure projection of each span's own values.
INSERT INTO crewscope_runs
SELECT
    "TraceId",
    "SpanId",
    "Timestamp",
    "Timestamp" + to_microseconds("Duration" // 1000),
    "Duration" / 1e6,
    "CrewName",
    "SpanAttributes"['crewai.flow.name'] IS NOT NULL,
    "StatusCode" = 'Error',
    "StatusMessage",
    "ErrorType",
    "InputTokens",
    "OutputTokens",
    TRY_CAST("SpanAttributes"['crewscope.llm.calls'] AS BIGINT),
    "SpanAttributes"['crewai.crew.input_keys'],
    "SpanAttributes"['crewai.crew.inputs'],
    left("SpanAttributes"['crewscope.output.preview'], 1000)
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND "GenAiOperation" = 'invoke_workflow'
