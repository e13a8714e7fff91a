-- Functions that the queries both engines run (queries.py SHARED_TEXT) call by one name:
-- DuckDB's own name where ClickHouse has none, else a crewscope_ one that DuckDB defines as
-- a macro (store/sql/tables.sql).

-- Nanoseconds since the epoch of a DateTime64.
CREATE FUNCTION IF NOT EXISTS epoch_ns AS (t) -> toUnixTimestamp64Nano(t);
-- A span's end: its start plus its duration (ns) in whole microseconds.
CREATE FUNCTION IF NOT EXISTS crewscope_end AS (ts, duration_ns) ->
    addMicroseconds(ts, intDiv(duration_ns, 1000));
-- The start of the width_s-second time-series bucket of ts (UTC).
CREATE FUNCTION IF NOT EXISTS crewscope_bucket AS (ts, width_s) ->
    toStartOfInterval(ts, toIntervalSecond(width_s), 'UTC');
-- [median, 95th percentile] of x, continuous (DuckDB's quantile_cont).
CREATE FUNCTION IF NOT EXISTS crewscope_p50_p95 AS (x) -> quantilesExactInclusive(0.5, 0.95)(x);
