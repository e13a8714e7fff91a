"""A crew whose tool logs: the app of the log-correlation tests, in-process and zero-code.

The `exchange_rate` tool logs a WARNING (and an INFO on a logger set to INFO) and then
raises once; CrewAI's own logger gets an INFO record (not exported by default) and the app
logs once outside any run. Run as a script (``python logs_app.py``) it kicks the crew off
against ``FAKE_LLM_URL`` and prints the result as JSON.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

CREW = "fx_crew"
ANALYST = "Analyst"
EDITOR = "Editor"
RATES_TASK = "rates"
TOOL = "exchange_rate"
TOOL_LOGGER = "fxapp.tools"
WARNING_TEXT = "rates service slow, retrying later"
INFO_TEXT = "looking up a rate"
CURRENCY_ATTRIBUTE = "fx.currency"
"""An ``extra`` of the tool's records: the SDK handler makes it a log attribute."""
OUTSIDE_TEXT = "fxapp starting"
CREWAI_INFO_TEXT = "crewai internal detail"

CREWAI_PROBE_LOGGER = "crewai.fxapp_probe"

log = logging.getLogger(TOOL_LOGGER)
log.setLevel(logging.INFO)  # the app opts its own logger into INFO
# Let an INFO record of a crewai.* logger reach the root handlers, where crewscope's filter
# (CREWSCOPE_CREWAI_LOG_LEVEL, default WARNING) is what keeps it out.
logging.getLogger(CREWAI_PROBE_LOGGER).setLevel(logging.INFO)


def build_crew(base_url: str) -> Any:
    from crewai import LLM, Agent, Crew, Process, Task
    from crewai.tools import tool

    raised: list[bool] = []

    @tool(TOOL)
    def exchange_rate(currency: str) -> str:
        """Return today's exchange rate for a currency."""
        log.info(INFO_TEXT, extra={CURRENCY_ATTRIBUTE: currency})
        log.warning(WARNING_TEXT, extra={CURRENCY_ATTRIBUTE: currency})
        logging.getLogger(CREWAI_PROBE_LOGGER).info(CREWAI_INFO_TEXT)
        if not raised:
            raised.append(True)
            raise ConnectionError("rates service unreachable")
        return "1.08"

    llm = LLM(model="gpt-4o-mini", base_url=base_url, api_key="sk-local")
    analyst = Agent(role=ANALYST, goal="g", backstory="b", llm=llm, tools=[exchange_rate])
    editor = Agent(role=EDITOR, goal="g", backstory="b", llm=llm)
    tasks = [
        Task(
            name=RATES_TASK, description="Get the rate of {ccy}", expected_output="x", agent=analyst
        ),
        Task(name="edit", description="Edit the text", expected_output="x", agent=editor),
    ]
    return Crew(name=CREW, agents=[analyst, editor], tasks=tasks, process=Process.sequential)


def main(base_url: str | None = None) -> None:
    logging.getLogger("fxapp").warning(OUTSIDE_TEXT)  # outside any run: no ids, no run columns
    out = build_crew(base_url or os.environ["FAKE_LLM_URL"]).kickoff(inputs={"ccy": "EUR"})
    print(json.dumps({"raw": out.raw}))


if __name__ == "__main__":
    main()
