-- Copy the memory spans ("memory {op}") with rowid in [$lo, $hi] into crewscope_memory_ops.
INSERT INTO crewscope_memory_ops
SELECT
    "Timestamp",
    "AgentName",
    coalesce("SpanAttributes"['crewai.memory.operation'], split_part("SpanName", ' ', 2)),
    "StatusCode" = 'Error',
    "Duration"
FROM otel_traces
WHERE rowid BETWEEN $lo AND $hi
  AND starts_with("SpanName", 'memory ')
