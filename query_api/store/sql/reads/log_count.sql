-- How many log records match the where slot.
SELECT count(*) FROM otel_logs {{where}}
