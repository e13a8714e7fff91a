"""``WritingCrew``: one editor agent and one task, declared in ``config/*.yaml`` with a
``@CrewBase`` class, as ``crewai create`` generates them."""

from __future__ import annotations

from typing import Any, cast

from crewai import Agent, Crew, Process, Task
from crewai.agents.agent_builder.base_agent import BaseAgent
from crewai.project import CrewBase, agent, crew, task


@CrewBase
class WritingCrew:
    agents: list[BaseAgent]
    tasks: list[Task]

    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    def _config(self, kind: str, key: str) -> dict[str, Any]:
        """An entry of a YAML file named above (``@CrewBase`` has loaded it into a dict)."""
        return cast("dict[str, dict[str, Any]]", getattr(self, kind))[key]

    @agent
    def editor(self) -> Agent:
        return Agent(config=self._config("agents_config", "editor"), llm=self.llm, verbose=False)

    @task
    def brief(self) -> Task:
        return Task(config=self._config("tasks_config", "brief"))  # type: ignore[call-arg]

    @crew
    def crew(self) -> Crew:
        return Crew(
            name="writing_crew",
            agents=self.agents,
            tasks=self.tasks,
            process=Process.sequential,
            verbose=False,
        )
