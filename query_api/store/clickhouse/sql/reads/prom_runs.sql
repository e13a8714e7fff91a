-- ClickHouse text of store/sql/reads/prom_runs.sql.
SELECT "Kind" AS kind, coalesce("Name", '') AS name,
    if("Failed", 'error', 'success') AS status, count(*) AS runs
FROM crewscope_runs
WHERE "ParentRunId" IS NULL
GROUP BY kind, name, status
