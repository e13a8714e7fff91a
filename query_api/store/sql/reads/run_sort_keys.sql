-- The runs with the sort keys of GET /runs that are no column of their own: total tokens as
-- a run summary shows them (NULL when neither count is known) and the name, case-folded.
SELECT
    *,
    CASE WHEN "InputTokens" IS NOT NULL OR "OutputTokens" IS NOT NULL
         THEN coalesce("InputTokens", 0) + coalesce("OutputTokens", 0) END AS "TotalTokens",
    lower("Name") AS "NameKey"
FROM crewscope_runs
