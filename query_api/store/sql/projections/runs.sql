-- Copy the run spans with rowid in [$lo, $hi] into crewscope_runs: flow and crew kickoffs
-- (invoke_workflow) and standalone agent kickoffs (invoke_agent marked as a run). Pure
-- projection of each span's own values (crewscope_run_spans, tables.sql); `copied` holds
-- the columns that runs and tasks take alike from their span (crewscope_projected_spans).
INSERT INTO crewscope_runs BY NAME
SELECT
    copied.*,
    nullif("SpanAttributes"['crewscope.run.parent_id'], '') AS "ParentRunId",
    coalesce(nullif("SpanAttributes"['crewscope.run.root_id'], ''), "SpanId") AS "RootRunId",
    kind AS "Kind",
    CASE WHEN kind = 'agent' THEN "AgentName" ELSE "CrewName" END AS "Name",
    "SpanAttributes"['crewscope.flow.method'] AS "FlowMethod",
    CASE WHEN kind = 'crew' THEN "CrewName" END AS "CrewName",
    "SpanAttributes"['crewai.crew.input_keys'] AS "InputKeys",
    coalesce("SpanAttributes"['crewai.crew.inputs'], "SpanAttributes"['crewai.flow.inputs'])
        AS "Inputs"
FROM crewscope_run_spans($lo, $hi)
