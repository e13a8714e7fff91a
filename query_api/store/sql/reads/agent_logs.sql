-- The last $limit log records of agent $agent at or above $min_severity, newest first
-- (reads/agent_activity.sql includes them as its agent_logs slot).
SELECT * FROM crewscope_logs
WHERE "AgentName" = $agent AND "SeverityNumber" >= $min_severity
ORDER BY "Timestamp" DESC LIMIT $limit
