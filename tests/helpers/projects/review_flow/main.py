"""ReviewFlow: a router loop, labels with and without declared outcomes, or_ / and_ listeners.

    gather -> draft (editor crew) -> review (router, Literal["revise", "approved"])
    review --revise--> draft (a second round), --approved--> publish
    publish -> notify (router, no declared outcome) --done--> archive
    and_(publish, archive) -> close

One run executes ``draft`` and ``review`` twice and every other method once; ``draft`` kicks
off a one-agent crew each time (two nested crew runs, one LLM call each).
"""

from __future__ import annotations

from typing import Any, Literal

from crewai.flow import Flow, and_, listen, or_, router, start
from pydantic import BaseModel

ROUNDS = 2
EXECUTIONS = {
    "gather": 1, "draft": ROUNDS, "review": ROUNDS, "publish": 1, "notify": 1,
    "archive": 1, "close": 1,
}  # fmt: skip
"""How often each method runs in one kickoff."""
EDGES = {
    ("gather", "draft", None), ("review", "draft", "revise"), ("draft", "review", None),
    ("review", "publish", "approved"), ("publish", "notify", None),
    ("notify", "archive", "done"), ("publish", "close", None), ("archive", "close", None),
}  # fmt: skip
"""(source, target, label) of the flow's graph: ``done`` is declared by no router, so it is
attached to the router that declares nothing (``notify``)."""


class ReviewState(BaseModel):
    topic: str = "tracing"
    rounds: int = 0
    draft: str = ""
    archived: bool = False


def editor_crew(llm: Any) -> Any:
    from crewai import Agent, Crew, Task

    editor = Agent(
        role="Editor", goal="Draft a short note", backstory="Keeps it short.", llm=llm,
        verbose=False,
    )  # fmt: skip
    task = Task(
        name="draft_note",
        description="Draft a two-line note on {topic} (round {round}).",
        expected_output="Two lines.",
        agent=editor,
    )
    return Crew(name="editor crew", agents=[editor], tasks=[task], verbose=False)


class ReviewFlow(Flow[ReviewState]):
    llm: Any = None

    @start()
    def gather(self) -> str:
        return self.state.topic

    @listen(or_(gather, "revise"))
    def draft(self) -> str:
        self.state.rounds += 1
        inputs = {"topic": self.state.topic, "round": str(self.state.rounds)}
        self.state.draft = editor_crew(self.llm).kickoff(inputs=inputs).raw
        return self.state.draft

    @router(draft)
    def review(self) -> Literal["revise", "approved"]:
        return "revise" if self.state.rounds < ROUNDS else "approved"

    @listen("approved")
    def publish(self) -> str:
        return self.state.draft

    @router(publish)
    def notify(self) -> str:
        return "done"

    @listen("done")
    def archive(self) -> None:
        self.state.archived = True

    @listen(and_(publish, archive))
    def close(self) -> bool:
        return self.state.archived


def review_flow(base_url: str) -> Any:
    """``ReviewFlow().kickoff()`` on the fake LLM at ``base_url``: one flow run, two crew runs."""
    from crewscope.demo.crew import make_llm

    return ReviewFlow(llm=make_llm(base_url)).kickoff()
