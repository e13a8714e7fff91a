"""The generator's crew.py shape over config/agents.yaml and config/tasks.yaml: the two
research tasks are ``async_execution: true`` (CrewAI runs each ``Task._execute_core`` on a
thread of its own), the strategy task waits for both (``context: [tech_task, market_task]``)."""

from __future__ import annotations

from typing import Any

from crewai import Agent, Crew, Process, Task
from crewai.agents.agent_builder.base_agent import BaseAgent
from crewai.project import CrewBase, agent, crew, task


@CrewBase
class MarketCrew:
    agents: list[BaseAgent]
    tasks: list[Task]

    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    @agent
    def tech_researcher(self) -> Agent:
        return Agent(config=self.agents_config["tech_researcher"], llm=self.llm)  # type: ignore[index]

    @agent
    def market_researcher(self) -> Agent:
        return Agent(config=self.agents_config["market_researcher"], llm=self.llm)  # type: ignore[index]

    @agent
    def strategist(self) -> Agent:
        return Agent(config=self.agents_config["strategist"], llm=self.llm)  # type: ignore[index]

    @task
    def tech_task(self) -> Task:
        return Task(config=self.tasks_config["tech_task"])  # type: ignore[index]

    @task
    def market_task(self) -> Task:
        return Task(config=self.tasks_config["market_task"])  # type: ignore[index]

    @task
    def strategy_task(self) -> Task:
        return Task(config=self.tasks_config["strategy_task"])  # type: ignore[index]

    @crew
    def crew(self) -> Crew:
        return Crew(
            name="market crew",
            agents=self.agents,
            tasks=self.tasks,
            process=Process.sequential,
        )
