-- Functions that the queries both engines run (queries.py SHARED_TEXT) call by one name,
-- each defined on DuckDB as a macro of the same name (store/sql/tables.sql).
--
-- The start of the width_s-second time-series bucket of ts (UTC).
CREATE FUNCTION IF NOT EXISTS crewscope_bucket AS (ts, width_s) ->
    toStartOfInterval(ts, toIntervalSecond(width_s), 'UTC');
