-- ClickHouse text of store/sql/reads/agent_exists.sql (ClickHouse keeps no rollups: the
-- task executions and memory operations are all there is).
SELECT EXISTS (SELECT 1 FROM crewscope_tasks WHERE "AgentName" = $agent)
    OR EXISTS (SELECT 1 FROM crewscope_memory_ops WHERE "AgentName" = $agent)
