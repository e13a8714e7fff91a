"""The sample flow: a router between two crews, the shape ``crewai create flow`` generates."""

from __future__ import annotations

from typing import Any


def build_flow(llm: Any) -> Any:
    """``BriefingFlow``: ``research`` (the research crew) -> ``review`` (router) ->
    ``write_brief`` (``WritingCrew``, a ``@CrewBase`` crew over YAML config) or ``no_brief``;
    one flow run, two crew runs."""
    from crewai.flow import Flow, listen, router, start
    from pydantic import BaseModel

    from crewscope.demo.crew import build_crew
    from crewscope.demo.crews.writing_crew.crew import WritingCrew

    class BriefingState(BaseModel):
        topic: str = "OpenTelemetry"
        findings: str = ""
        brief: str = ""

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
            crew: Any = WritingCrew(llm).crew()
            self.state.brief = crew.kickoff(inputs=inputs).raw
            return self.state.brief

        @listen("skip")
        def no_brief(self) -> str:
            return ""

    return BriefingFlow()
