-- ClickHouse text of store/sql/reads/run_sort_keys.sql.
SELECT
    *,
    if("InputTokens" IS NOT NULL OR "OutputTokens" IS NOT NULL,
       coalesce("InputTokens", 0) + coalesce("OutputTokens", 0), NULL) AS "TotalTokens",
    lower("Name") AS "NameKey"
FROM crewscope_run_rows
