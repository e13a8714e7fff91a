"""Realistic CrewAI project shapes, run for real against the fake LLM.

Each project folder follows the ``crewai create`` generator's layout (a ``@CrewBase`` class
over ``config/agents.yaml`` / ``config/tasks.yaml`` with folded ``role: >`` scalars; a flow
``main.py`` with its crews under ``crews/``). ``shapes.py`` builds and runs each shape given
the fake LLM's base URL (``FakeLLMServer.base_url``); ``SHAPES`` lists them with the runs
each one makes, for tests that count runs::

    from tests.helpers.projects import SHAPES, content_flow
    content_flow(llm_server.base_url)          # instrumented: spans land in your provider
    SHAPES["content_flow"].top_level            # {"flow": 1}

Only CrewAI and the fake LLM are needed (no network).
"""

from tests.helpers.projects.shapes import (
    SHAPES,
    Shape,
    batch_flow,
    content_flow,
    crew_twice_under_caller_span,
    guarded_crew,
    kickoff_async_crew,
    kickoff_for_each,
    knowledge_crew,
    market_crew,
    research_crew,
    standalone_agent,
    streaming_crew,
    structured_crew,
    support_crew,
)

__all__ = [
    "SHAPES",
    "Shape",
    "batch_flow",
    "content_flow",
    "crew_twice_under_caller_span",
    "guarded_crew",
    "kickoff_async_crew",
    "kickoff_for_each",
    "knowledge_crew",
    "market_crew",
    "research_crew",
    "standalone_agent",
    "streaming_crew",
    "structured_crew",
    "support_crew",
]
