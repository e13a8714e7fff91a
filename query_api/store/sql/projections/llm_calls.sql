-- Copy the LLM-call spans with rowid in [$lo, $hi] into crewscope_llm_calls.
INSERT INTO crewscope_llm_calls
SELECT
    "Timestamp", "AgentName", "Model", "ProviderName", "StatusCode" = 'Error', "Duration",
    "InputTokens", "OutputTokens", "CostUsd", "TraceId", "SpanId"
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND list_contains($llm_ops, "GenAiOperation")
