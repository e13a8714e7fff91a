-- ClickHouse text of store/sql/reads/run_window.sql.
SELECT "SpanId", "TraceId", "Timestamp", "EndTime"
FROM crewscope_runs
{{where}}
ORDER BY "Timestamp", "SpanId"
LIMIT 1
