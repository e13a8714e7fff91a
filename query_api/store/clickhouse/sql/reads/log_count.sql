-- ClickHouse text of store/sql/reads/log_count.sql (crewscope_logs: schema_signals.sql).
SELECT count(*) FROM crewscope_logs {{where}}
