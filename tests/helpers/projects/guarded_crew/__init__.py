"""A ``crewai create crew`` project: ``GuardedCrew`` (a draft task with a function guardrail
that rejects the first answer and accepts the retry, then an editing task)."""
