-- Copy the task-execution spans (invoke_agent) with rowid in [$lo, $hi] into crewscope_tasks;
-- `copied` holds the columns that runs and tasks take alike from their span
-- (crewscope_projected_spans, tables.sql).
INSERT INTO crewscope_tasks BY NAME
SELECT
    copied.*,
    "ParentSpanId",
    coalesce(nullif("SpanAttributes"['crewscope.run.id'], ''), "ParentSpanId") AS "RunId",
    coalesce(
        nullif("SpanAttributes"['crewscope.run.root_id'], ''),
        nullif("SpanAttributes"['crewscope.run.id'], ''),
        "ParentSpanId"
    ) AS "RootRunId",
    "CrewName",
    "AgentName",
    "TaskName",
    TRY_CAST("SpanAttributes"['crewscope.tool.calls'] AS BIGINT) AS "ToolCalls"
FROM crewscope_projected_spans($lo, $hi)
WHERE "GenAiOperation" = 'invoke_agent'
