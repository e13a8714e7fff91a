-- Functions that the queries both engines run (queries.py SHARED_TEXT) call by one name,
-- each defined on DuckDB as a macro of the same name (store/sql/tables.sql).
--
-- The start of the width_s-second time-series bucket of ts (UTC).
CREATE FUNCTION IF NOT EXISTS crewscope_bucket AS (ts, width_s) ->
    toStartOfInterval(ts, toIntervalSecond(width_s), 'UTC');
-- [median, 95th percentile] of x, continuous (DuckDB's quantile_cont).
CREATE FUNCTION IF NOT EXISTS crewscope_p50_p95 AS (x) -> quantilesExactInclusive(0.5, 0.95)(x);
