"""SupportCrew: hierarchical process, no task has an agent; the manager (``manager_llm``)
delegates the investigation to the Research Specialist and the reply to the Support Writer
(the fake LLM names the coworker its task mentions)."""

from __future__ import annotations

from typing import Any

from crewai import Agent, Crew, Process, Task
from crewai.agents.agent_builder.base_agent import BaseAgent
from crewai.project import CrewBase, agent, crew, task


@CrewBase
class SupportCrew:
    agents: list[BaseAgent]
    tasks: list[Task]

    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    @agent
    def research_specialist(self) -> Agent:
        return Agent(
            config=self.agents_config["research_specialist"],  # type: ignore[index]
            llm=self.llm,
        )

    @agent
    def support_writer(self) -> Agent:
        return Agent(config=self.agents_config["support_writer"], llm=self.llm)  # type: ignore[index]

    @task
    def investigate_task(self) -> Task:
        return Task(config=self.tasks_config["investigate_task"])  # type: ignore[index]

    @task
    def answer_task(self) -> Task:
        return Task(config=self.tasks_config["answer_task"])  # type: ignore[index]

    @crew
    def crew(self) -> Crew:
        return Crew(
            name="support crew",
            agents=self.agents,
            tasks=self.tasks,
            process=Process.hierarchical,
            manager_llm=self.llm,
        )
