-- Whether an agent has any task execution, rollup row or memory operation stored.
SELECT EXISTS (SELECT 1 FROM crewscope_tasks WHERE "AgentName" = $agent)
    OR EXISTS (SELECT 1 FROM crewscope_rollup_agent_daily WHERE "AgentName" = $agent)
    OR EXISTS (SELECT 1 FROM crewscope_memory_ops WHERE "AgentName" = $agent)
