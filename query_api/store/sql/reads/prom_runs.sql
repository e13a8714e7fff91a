-- Prometheus /metrics: top-level runs (the runs the dashboard counts) per kind, name and
-- outcome over all stored runs.
SELECT "Kind" AS kind, coalesce("Name", '') AS name,
    CASE WHEN "Failed" THEN 'error' ELSE 'success' END AS status, count(*) AS runs
FROM crewscope_runs
WHERE "ParentRunId" IS NULL
GROUP BY ALL
