"""A hierarchical ``@CrewBase`` crew: a manager LLM delegates each task to a coworker."""
