"""The sample flow: a router between two crews, the shape ``crewai create flow`` generates."""

from __future__ import annotations

from typing import Any


def build_flow(llm: Any) -> Any:
    """``BriefingFlow``: ``research`` (the research crew) -> ``review`` (router) ->
    ``write_brief`` (a one-agent writing crew) or ``no_brief``; one flow run, two crew runs."""
    from crewai import Agent, Crew, Task
    from crewai.flow import Flow, listen, router, start
    from pydantic import BaseModel

    from crewscope.demo.crew import build_crew

    class BriefingState(BaseModel):
        topic: str = "OpenTelemetry"
        findings: str = ""
        brief: str = ""

    def writing_crew() -> Any:
        editor = Agent(
            role="Editor",
            goal="Turn findings into a brief",
            backstory="An editor who keeps it short.",
            llm=llm,
            verbose=False,
        )
        task = Task(
            name="brief",
            description="Write a three-line brief on {topic} from these findings: {findings}",
            expected_output="Three lines.",
            agent=editor,
        )
        return Crew(name="writing_crew", agents=[editor], tasks=[task], verbose=False)

    class BriefingFlow(Flow[BriefingState]):
        @start()
        def research(self) -> None:
            crew = build_crew(llm, name="research_crew")
            self.state.findings = crew.kickoff(inputs={"topic": self.state.topic}).raw

        @router(research)
        def review(self) -> str:
            return "write" if self.state.findings else "skip"

        @listen("write")
        def write_brief(self) -> str:
            inputs = {"topic": self.state.topic, "findings": self.state.findings[:200]}
            self.state.brief = writing_crew().kickoff(inputs=inputs).raw
            return self.state.brief

        @listen("skip")
        def no_brief(self) -> str:
            return ""

    return BriefingFlow()
