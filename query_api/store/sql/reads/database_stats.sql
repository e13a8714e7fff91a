-- How many spans are stored, and the newest start time.
SELECT count(*), max("Timestamp") FROM otel_traces
