"""BatchFlow: load_items -> summarize_all (async: one crew per item, concurrently) -> report."""

from __future__ import annotations

import asyncio
from typing import Any

from crewai.flow import Flow, listen, start
from pydantic import BaseModel

from tests.helpers.projects.batch_flow.crews.summary_crew.summary_crew import SummaryCrew

ITEMS = ("alpha.pdf", "beta.pdf", "gamma.pdf")


class BatchState(BaseModel):
    items: list[str] = list(ITEMS)
    summaries: list[str] = []


class BatchFlow(Flow[BatchState]):
    llm: Any = None

    @start()
    def load_items(self) -> list[str]:
        return self.state.items

    @listen(load_items)
    async def summarize_all(self) -> None:
        tasks = [
            asyncio.create_task(SummaryCrew(self.llm).crew().akickoff(inputs={"item": item}))
            for item in self.state.items
        ]
        outputs = await asyncio.gather(*tasks)
        self.state.summaries = [out.raw for out in outputs]

    @listen(summarize_all)
    def report(self) -> str:
        return "\n\n".join(self.state.summaries)
