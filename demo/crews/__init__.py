"""The flow's crews, in the layout ``crewai create flow`` generates (a folder per crew with
its ``config/agents.yaml`` and ``config/tasks.yaml``)."""
