-- ClickHouse text of store/sql/reads/database_stats.sql.
SELECT count(*), if(count(*) = 0, NULL, max("Timestamp")) FROM otel_traces
