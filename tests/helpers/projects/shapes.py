"""One function per project shape: build it on the fake LLM at ``base_url`` and run it.

The runs each shape makes (see SPANS.md "Runs") are in ``SHAPES``: ``top_level`` counts
the top-level runs by kind, ``nested`` the crew runs inside a flow run, ``traces`` the
traces the shape's spans land in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crewscope.demo.crew import make_llm, word_counter_tool
from tests.helpers.projects.batch_flow.main import ITEMS, BatchFlow
from tests.helpers.projects.content_flow.main import ContentFlow
from tests.helpers.projects.guarded_crew.crew import GuardedCrew
from tests.helpers.projects.knowledge_crew.crew import KnowledgeCrew
from tests.helpers.projects.market_crew.crew import MarketCrew
from tests.helpers.projects.research_crew.crew import ResearchCrew
from tests.helpers.projects.structured_crew.crew import StructuredCrew
from tests.helpers.projects.support_crew.crew import SupportCrew

TOPICS = ("AI agents", "vector stores", "tracing")
CALLER_SPAN = "handle_request"


def research_crew(base_url: str) -> Any:
    """``ResearchCrew().crew().kickoff()``: one crew run (Senior Data Researcher with one
    word-counter tool call, then Reporting Analyst)."""
    return ResearchCrew(make_llm(base_url)).crew().kickoff(inputs={"topic": TOPICS[0]})


def content_flow(base_url: str) -> Any:
    """``ContentFlow().kickoff()``: one flow run with two nested crew runs (``outline crew``
    under method ``plan_content``, ``writing crew`` under ``write_post``; the router
    ``choose_format`` picks ``long_form``)."""
    return ContentFlow(llm=make_llm(base_url)).kickoff(inputs={"topic": TOPICS[0]})


def batch_flow(base_url: str) -> Any:
    """``BatchFlow().kickoff()``: one flow run; its async method ``summarize_all`` runs one
    ``summary crew`` per item concurrently (``akickoff`` in asyncio tasks): three nested
    crew runs."""
    return BatchFlow(llm=make_llm(base_url)).kickoff()


def support_crew(base_url: str) -> Any:
    """Hierarchical ``SupportCrew``: one crew run; the Crew Manager runs both tasks and
    delegates the first to the Research Specialist, the second to the Support Writer
    (``delegate_work_to_coworker``)."""
    return SupportCrew(make_llm(base_url)).crew().kickoff(inputs={"product": "Acme"})


def kickoff_for_each(base_url: str) -> Any:
    """``kickoff_for_each`` over three inputs: three crew runs, one trace each."""
    crew = ResearchCrew(make_llm(base_url)).crew()
    return crew.kickoff_for_each(inputs=[{"topic": t} for t in TOPICS])


def crew_twice_under_caller_span(base_url: str, tracer: Any = None) -> list[Any]:
    """A script loop with its own span (``handle_request``) kicking off one crew twice:
    one trace, two crew runs under the caller's span. ``tracer``: the caller's tracer
    (default: the global tracer provider's)."""
    if tracer is None:
        from opentelemetry import trace

        tracer = trace.get_tracer(__name__)
    crew = ResearchCrew(make_llm(base_url)).crew()
    with tracer.start_as_current_span(CALLER_SPAN):
        return [crew.kickoff(inputs={"topic": t}) for t in TOPICS[:2]]


def standalone_agent(base_url: str) -> Any:
    """``Agent.kickoff()`` without a crew: one agent run (one word-counter tool call)."""
    from crewai import Agent

    agent = Agent(
        role="Fact Checker\n",
        goal="Check claims",
        backstory="You verify every number.",
        llm=make_llm(base_url),
        tools=[word_counter_tool()],
    )
    return agent.kickoff("Count the words in 'observability for crewai agents'")


def kickoff_async_crew(base_url: str) -> Any:
    """``await crew.kickoff_async()`` (CrewAI runs ``kickoff`` in a thread): one crew run."""
    crew = ResearchCrew(make_llm(base_url)).crew()
    return asyncio.run(crew.kickoff_async(inputs={"topic": TOPICS[1]}))


def streaming_crew(base_url: str) -> Any:
    """``Crew(stream=True).kickoff()`` iterated to the end: one crew run."""
    crew = ResearchCrew(make_llm(base_url)).crew()
    crew.stream = True
    streaming = crew.kickoff(inputs={"topic": TOPICS[2]})
    for _ in streaming:
        pass
    return streaming.result


def market_crew(base_url: str) -> Any:
    """``MarketCrew``: one crew run; ``tech_task`` and ``market_task`` are
    ``async_execution=True`` (each on a thread of its own), ``strategy_task`` waits for both
    (``context=[tech_task, market_task]``). One LLM call per task."""
    return MarketCrew(make_llm(base_url)).crew().kickoff(inputs={"topic": TOPICS[0]})


def guarded_crew(base_url: str) -> Any:
    """``GuardedCrew``: one crew run; the function guardrail of ``draft_task`` rejects the
    first draft and accepts the retry, so the Copy Writer runs twice inside that one task
    (two LLM calls), then ``edit_task`` (one)."""
    return GuardedCrew(make_llm(base_url)).crew().kickoff(inputs={"product": "Acme"})


def structured_crew(base_url: str) -> Any:
    """``StructuredCrew``: one crew run; ``score_task`` (``output_pydantic``, agent with a
    tool: tool call, answer, then the converter's LLM call) and ``summary_task``
    (``output_json``, no tools: one LLM call asking for the JSON schema)."""
    return StructuredCrew(make_llm(base_url)).crew().kickoff(inputs={"topic": TOPICS[2]})


def knowledge_crew(base_url: str) -> Any:
    """``KnowledgeCrew``: one crew run with crew knowledge (``StringKnowledgeSource``,
    offline embedder); the task makes the knowledge search-query LLM call, then its answer."""
    return KnowledgeCrew(make_llm(base_url)).crew().kickoff(inputs={"product": "Acme"})


@dataclass(frozen=True)
class Shape:
    run: Callable[..., Any]
    top_level: dict[str, int]
    """Top-level runs by kind (``crewscope.run.kind``)."""
    nested: int = 0
    """Crew runs nested in a flow run."""
    traces: int = 1
    delegated: tuple[str, ...] = field(default=())
    """Coworker roles whose delegated work is an ``invoke_agent`` span of its own."""


SHAPES: dict[str, Shape] = {
    "research_crew": Shape(research_crew, {"crew": 1}),
    "content_flow": Shape(content_flow, {"flow": 1}, nested=2),
    "batch_flow": Shape(batch_flow, {"flow": 1}, nested=len(ITEMS)),
    "support_crew": Shape(
        support_crew, {"crew": 1}, delegated=("Research Specialist", "Support Writer")
    ),
    "kickoff_for_each": Shape(kickoff_for_each, {"crew": 3}, traces=3),
    "crew_twice_under_caller_span": Shape(crew_twice_under_caller_span, {"crew": 2}),
    "standalone_agent": Shape(standalone_agent, {"agent": 1}),
    "kickoff_async_crew": Shape(kickoff_async_crew, {"crew": 1}),
    "streaming_crew": Shape(streaming_crew, {"crew": 1}),
    "market_crew": Shape(market_crew, {"crew": 1}),
    "guarded_crew": Shape(guarded_crew, {"crew": 1}),
    "structured_crew": Shape(structured_crew, {"crew": 1}),
    "knowledge_crew": Shape(knowledge_crew, {"crew": 1}),
}
