-- One page of runs (queries/runs.py adds their totals: reads/run_totals). Slots: runs, the runs
-- with their sort keys (run_sort_keys, or run_sort_cost when sorting by cost); where, built
-- from a fixed set of conditions; sort, one of the sort key columns (an allowlist in code),
-- descending when $desc, NULLs last either way, ties by run id. Newest first: sort
-- "Timestamp", $desc true.
SELECT *
FROM {{runs}} AS r
{{where}}
ORDER BY
    CASE WHEN $desc THEN {{sort}} END DESC NULLS LAST,
    CASE WHEN NOT $desc THEN {{sort}} END ASC NULLS LAST,
    "SpanId"
LIMIT $limit OFFSET $offset
