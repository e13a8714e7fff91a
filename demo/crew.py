"""The sample crew: two agents, two tasks, one tool."""

from __future__ import annotations

import logging
from typing import Any


def make_llm(base_url: str | None = None, model: str = "gpt-4o-mini", **kwargs: Any) -> Any:
    """An OpenAI-compatible LLM; ``base_url`` points it at the local fake server."""
    from crewai import LLM

    if base_url is None:
        return LLM(model=model, **kwargs)
    return LLM(model=model, base_url=base_url, api_key="sk-crewscope-local", **kwargs)


def word_counter_tool(fail: bool = False) -> Any:
    from crewai.tools import BaseTool

    class WordCounter(BaseTool):
        name: str = "word_counter"
        description: str = "Counts the words in a text and returns the number."

        def _run(self, text: str) -> str:
            if fail:
                logging.getLogger("crewscope.demo.tools").warning(
                    "word_counter failed on a %d-character text", len(text)
                )
                raise RuntimeError("word counter is broken")
            return str(len(text.split()))

    return WordCounter()


def build_crew(
    llm: Any, *, tool: Any = None, name: str = "research_crew", **crew_kwargs: Any
) -> Any:
    """Researcher (with the word-counter tool) then Writer, one task each."""
    from crewai import Agent, Crew, Task

    researcher = Agent(
        role="Researcher",
        goal="Find facts about {topic}",
        backstory="A careful analyst who checks numbers with tools.",
        llm=llm,
        tools=[tool if tool is not None else word_counter_tool()],
        verbose=False,
    )
    writer = Agent(
        role="Writer",
        goal="Explain {topic} clearly",
        backstory="A technical writer.",
        llm=llm,
        verbose=False,
    )
    research = Task(
        name="research",
        description="Research {topic} and count the words of your key sentence with the tool.",
        expected_output="Key facts and a word count.",
        agent=researcher,
    )
    write = Task(
        name="write",
        description="Write a short summary about {topic}.",
        expected_output="A short paragraph.",
        agent=writer,
    )
    return Crew(
        name=name,
        agents=[researcher, writer],
        tasks=[research, write],
        verbose=False,
        **crew_kwargs,
    )


def local_embedder(texts: list[str]) -> list[list[float]]:
    """A deterministic offline embedding (hash-based): lets CrewAI memory run with no network."""
    import hashlib

    vectors = []
    for text in texts:
        digest = hashlib.sha256(text.encode()).digest()
        vectors.append([b / 255 for b in digest])
    return vectors


def make_memory(llm: Any, storage_dir: str) -> Any:
    """CrewAI unified memory on a local LanceDB folder with the offline embedder."""
    from crewai.memory.unified_memory import Memory

    return Memory(llm=llm, embedder=local_embedder, storage=storage_dir)
