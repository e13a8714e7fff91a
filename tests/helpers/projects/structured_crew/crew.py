"""The generator's crew.py shape with structured task output, both ways CrewAI 1.15 gets it:

* ``score_task`` (``output_pydantic=Score``): its agent has a tool, so CrewAI does not ask
  the LLM for structured output during the agent loop (``effective_response_model`` is None
  with tools); the agent answers in text and CrewAI's converter (``convert_to_model`` ->
  ``Converter.to_pydantic``) makes one more LLM call, with ``Score``'s JSON schema, inside
  the task.
* ``summary_task`` (``output_json=Summary``): no tools, so the agent's own final LLM call
  asks for ``Summary``'s JSON schema and no converter call is needed.
"""

from __future__ import annotations

from typing import Any

from crewai import Agent, Crew, Process, Task
from crewai.agents.agent_builder.base_agent import BaseAgent
from crewai.project import CrewBase, agent, crew, task
from pydantic import BaseModel

from crewscope.demo.crew import word_counter_tool


class Score(BaseModel):
    project: str
    score: int
    verdict: str


class Summary(BaseModel):
    title: str
    key_points: list[str]


@CrewBase
class StructuredCrew:
    agents: list[BaseAgent]
    tasks: list[Task]

    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    @agent
    def analyst(self) -> Agent:
        return Agent(
            config=self.agents_config["analyst"],  # type: ignore[index]
            llm=self.llm,
            tools=[word_counter_tool()],
        )

    @agent
    def reporter(self) -> Agent:
        return Agent(config=self.agents_config["reporter"], llm=self.llm)  # type: ignore[index]

    @task
    def score_task(self) -> Task:
        return Task(config=self.tasks_config["score_task"], output_pydantic=Score)  # type: ignore[index]

    @task
    def summary_task(self) -> Task:
        return Task(config=self.tasks_config["summary_task"], output_json=Summary)  # type: ignore[index]

    @crew
    def crew(self) -> Crew:
        return Crew(
            name="structured crew",
            agents=self.agents,
            tasks=self.tasks,
            process=Process.sequential,
        )
