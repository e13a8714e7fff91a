"""A ``crewai create crew`` project: ``MarketCrew`` (two async research tasks, then a sync
summary with both in its ``context``)."""
