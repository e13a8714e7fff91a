-- A run's id, trace and time window: the run named in the where slot that started first.
SELECT "SpanId", "TraceId", "Timestamp", "EndTime"
FROM crewscope_runs
{{where}}
ORDER BY "Timestamp", "SpanId"
LIMIT 1
