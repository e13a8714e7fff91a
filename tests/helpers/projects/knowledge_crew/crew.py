"""The generator's crew.py shape with crew knowledge: a ``StringKnowledgeSource`` on the crew,
embedded with an offline embedder (CrewAI's default embedder is OpenAI's API), given as
CrewAI's ``custom`` embedder provider (``CustomProvider(embedding_callable=...)``). Before the task, CrewAI asks the LLM to rewrite
the task into a search query (one extra LLM call inside the task) and queries the
knowledge store with it."""

from __future__ import annotations

from typing import Any

from crewai import Agent, Crew, Process, Task
from crewai.agents.agent_builder.base_agent import BaseAgent
from crewai.knowledge.source.string_knowledge_source import StringKnowledgeSource
from crewai.project import CrewBase, agent, crew, task
from crewai.rag.embeddings.providers.custom import CustomProvider
from crewai.rag.embeddings.providers.custom.embedding_callable import CustomEmbeddingFunction

from crewscope.demo.crew import local_embedder

HANDBOOK = (
    "Acme routers come with a two year warranty. The warranty covers hardware faults. "
    "Firmware updates are free for five years."
)


class LocalEmbedding(CustomEmbeddingFunction):
    """Deterministic, offline: the demo's hash-based embedder."""

    def __call__(self, input: list[str]) -> Any:
        import numpy as np

        return [np.array(v, dtype=np.float32) for v in local_embedder(list(input))]

    @staticmethod
    def name() -> str:
        return "crewscope-local"


# A provider instance, not the ``{"provider": "custom", ...}`` dict: in 1.15 the Crew's
# validation of that dict wants a chromadb ``EmbeddingFunction`` subclass while the knowledge
# storage's wants a ``CustomEmbeddingFunction`` subclass, and no class passes both.
EMBEDDER = CustomProvider(embedding_callable=LocalEmbedding)


@CrewBase
class KnowledgeCrew:
    agents: list[BaseAgent]
    tasks: list[Task]

    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    @agent
    def support_agent(self) -> Agent:
        return Agent(config=self.agents_config["support_agent"], llm=self.llm)  # type: ignore[index]

    @task
    def answer_task(self) -> Task:
        return Task(config=self.tasks_config["answer_task"])  # type: ignore[index]

    @crew
    def crew(self) -> Crew:
        return Crew(
            name="knowledge crew",
            agents=self.agents,
            tasks=self.tasks,
            process=Process.sequential,
            knowledge_sources=[StringKnowledgeSource(content=HANDBOOK)],
            embedder=EMBEDDER,
        )
