-- ClickHouse text of store/sql/reads/live_spans.sql, over crewscope_live_spans
-- (schema_live.sql; spans of interest only): what arrived at or after $lo (ns, the live
-- feed's cursor less its lag window) and within the last $lag_ns by the server's clock,
-- oldest arrival first. The feed skips rows it has published (rid); cost is priced now.
SELECT
    toUnixTimestamp64Nano("Arrived") AS arrived_ns,
    "Row" AS rid,
    "StartNs" AS start_ns,
    "DurationNs" AS duration_ns,
    "TraceId", "SpanId", "ParentSpanId", "SpanName", "ServiceName", "StatusCode",
    "StatusMessage", "GenAiOperation", "CrewName", "TaskName", "AgentName", "ToolName",
    "Model", "ProviderName", "InputTokens", "OutputTokens",
    if("GenAiOperation" IS NULL OR crewscope_is_llm("GenAiOperation"),
       crewscope_cost_from(currentDatabase() || '.crewscope_prices_dict', "GenAiOperation", "Model", "ProviderName", "InputTokens",
                      "OutputTokens", "CacheRead", "CacheWrite"),
       NULL) AS "CostUsd",
    "ErrorType",
    "StepIndex" AS step_index,
    "StepType" AS step_type,
    "MemoryOperation" AS memory_operation,
    "Flow" AS flow,
    "RunId" AS run_id,
    "RootRunId" AS root_run_id
FROM crewscope_live_spans
WHERE "Arrived" >= fromUnixTimestamp64Nano(toInt64($lo), 'UTC')
  AND "Arrived" >= now64(9) - toIntervalNanosecond(toInt64($lag_ns))
ORDER BY "Arrived", "Row"
