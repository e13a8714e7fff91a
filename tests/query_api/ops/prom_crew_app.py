"""An instrumented crew app for the Prometheus scrape test (run by opentelemetry-instrument).

argv: fake LLM base URL. Runs the demo crew twice (the second with a broken tool), prints
"done", then stays up so Prometheus can scrape the OTel Prometheus exporter's port.
"""

from __future__ import annotations

import sys
import time

from crewscope.demo.crew import build_crew, make_llm, word_counter_tool

llm = make_llm(sys.argv[1], max_retries=0)
build_crew(llm, name="prom_crew").kickoff(inputs={"topic": "a"})
build_crew(llm, name="prom_crew", tool=word_counter_tool(fail=True)).kickoff(inputs={"topic": "b"})
print("done", flush=True)
time.sleep(300)
