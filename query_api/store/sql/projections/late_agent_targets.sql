-- How many calls late_agent_pairs.sql found, the earliest start of their enclosing spans
-- (where the walk up their traces starts reading spans) and the calls' first and last start.
SELECT count(*), min(enclosing_start), min("Timestamp"), max("Timestamp") FROM {{pairs}}
