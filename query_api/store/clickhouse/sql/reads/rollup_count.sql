-- ClickHouse text of store/sql/reads/rollup_count.sql (the rollup views of
-- schema_rollups.sql, kept by materialized views).
SELECT count(*) FROM {{table}}
WHERE "Day" BETWEEN $date_from AND $date_to AND ($name IS NULL OR {{name_column}} = $name)
