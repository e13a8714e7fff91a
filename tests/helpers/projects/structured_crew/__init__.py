"""A ``crewai create crew`` project: ``StructuredCrew`` (one task with ``output_pydantic``,
one with ``output_json``)."""
