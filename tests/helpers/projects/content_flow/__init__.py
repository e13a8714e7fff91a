"""A ``crewai create flow`` project: ``ContentFlow`` (@start, @router, @listen; two crews)."""
