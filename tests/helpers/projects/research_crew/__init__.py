"""A ``crewai create crew`` project: ``ResearchCrew`` (two agents, two sequential tasks)."""
