"""The generator's crew.py shape with a function guardrail on the draft task: it returns
``(False, reason)`` for the first answer and ``(True, output)`` for the next, so CrewAI
runs the copywriter once more inside the same task (``Task._invoke_guardrail_function``
calls ``agent.execute_task`` again with the reason as context).

No ``from __future__ import annotations`` here: CrewAI checks a guardrail's return
annotation at runtime (``tuple[bool, Any]``) and rejects it as a string."""

from typing import Any

from crewai import Agent, Crew, Process, Task, TaskOutput
from crewai.agents.agent_builder.base_agent import BaseAgent
from crewai.project import CrewBase, agent, crew, task

REJECTION = "The release notes do not mention the version number."


@CrewBase
class GuardedCrew:
    agents: list[BaseAgent]
    tasks: list[Task]

    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.guardrail_calls: list[str] = []
        """The raw output the guardrail saw, per call."""

    def check_draft(self, output: TaskOutput) -> tuple[bool, Any]:
        """Reject the first draft, accept the retry."""
        self.guardrail_calls.append(output.raw)
        if len(self.guardrail_calls) == 1:
            return False, REJECTION
        return True, output.raw

    @agent
    def copywriter(self) -> Agent:
        return Agent(config=self.agents_config["copywriter"], llm=self.llm)  # type: ignore[index]

    @agent
    def editor(self) -> Agent:
        return Agent(config=self.agents_config["editor"], llm=self.llm)  # type: ignore[index]

    @task
    def draft_task(self) -> Task:
        return Task(
            config=self.tasks_config["draft_task"],  # type: ignore[index]
            guardrail=self.check_draft,
            guardrail_max_retries=2,
        )

    @task
    def edit_task(self) -> Task:
        return Task(config=self.tasks_config["edit_task"])  # type: ignore[index]

    @crew
    def crew(self) -> Crew:
        return Crew(
            name="guarded crew",
            agents=self.agents,
            tasks=self.tasks,
            process=Process.sequential,
        )
