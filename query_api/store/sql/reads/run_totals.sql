-- The totals (crewscope_run_totals) of the runs and traces $ids names: a page of runs reads
-- those of its run and trace ids (a run's own totals, else its trace's for a run whose
-- spans name no run).
SELECT "RunId", "Spans", "Tasks", "Steps", "LlmCalls", "ToolCalls", "Errors", "CostUsd"
FROM crewscope_run_totals
WHERE "RunId" IN (SELECT unnest($ids))
