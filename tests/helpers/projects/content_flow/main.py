"""The generator's flow main.py shape: a Flow whose methods kick off the crews in crews/."""

from __future__ import annotations

from typing import Any

from crewai.flow import Flow, listen, router, start
from pydantic import BaseModel

from tests.helpers.projects.content_flow.crews.outline_crew.outline_crew import OutlineCrew
from tests.helpers.projects.content_flow.crews.writing_crew.writing_crew import WritingCrew


class ContentState(BaseModel):
    topic: str = "AI Agents"
    outline: str = ""
    final_post: str = ""


class ContentFlow(Flow[ContentState]):
    """plan_content (outline crew) -> choose_format (router) -> write_post (writing crew)
    -> save_content. ``skip_post`` is the router's other branch (not taken)."""

    llm: Any = None

    @start()
    def plan_content(self) -> None:
        result = OutlineCrew(self.llm).crew().kickoff(inputs={"topic": self.state.topic})
        self.state.outline = result.raw

    @router(plan_content)
    def choose_format(self) -> str:
        return "long_form" if self.state.outline else "skip"

    @listen("long_form")
    def write_post(self) -> None:
        inputs = {"topic": self.state.topic, "outline": self.state.outline}
        self.state.final_post = WritingCrew(self.llm).crew().kickoff(inputs=inputs).raw

    @listen("skip")
    def skip_post(self) -> None:
        self.state.final_post = ""

    @listen(write_post)
    def save_content(self) -> str:
        return self.state.final_post
