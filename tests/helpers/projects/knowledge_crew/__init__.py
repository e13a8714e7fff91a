"""A ``crewai create crew`` project: ``KnowledgeCrew`` (crew knowledge from a
``StringKnowledgeSource``, embedded offline)."""
