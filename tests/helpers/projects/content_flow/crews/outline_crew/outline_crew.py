from __future__ import annotations

from typing import Any

from crewai import Agent, Crew, Process, Task
from crewai.agents.agent_builder.base_agent import BaseAgent
from crewai.project import CrewBase, agent, crew, task


@CrewBase
class OutlineCrew:
    """Outline Crew: one planner, one task."""

    agents: list[BaseAgent]
    tasks: list[Task]

    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    @agent
    def planner(self) -> Agent:
        return Agent(config=self.agents_config["planner"], llm=self.llm)  # type: ignore[index]

    @task
    def outline_task(self) -> Task:
        return Task(config=self.tasks_config["outline_task"])  # type: ignore[index]

    @crew
    def crew(self) -> Crew:
        return Crew(
            name="outline crew", agents=self.agents, tasks=self.tasks, process=Process.sequential
        )
