"""Names as users wrote them, minus layout whitespace (YAML folded scalars end in "\\n")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from crewscope.demo.crew import make_llm, word_counter_tool
from crewscope.instrumentation import CrewAIInstrumentor
from tests.instrumentation._tree import by_name, roots, shape


@pytest.fixture
def traced_and_metered(_tracing: Any) -> Iterator[tuple[Any, InMemoryMetricReader]]:
    tracer_provider, exporter = _tracing
    exporter.clear()
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider, process_metrics=False
    )
    try:
        yield exporter, reader
    finally:
        instrumentor.uninstrument()
        meter_provider.shutdown()
        exporter.clear()


def _folded_crew(llm):
    from crewai import Agent, Crew, Task

    agent = Agent(
        role="Research Agent\n",  # role: >  in agents.yaml
        goal="Find facts about {topic}",
        backstory="A careful analyst who checks numbers with tools.",
        llm=llm,
        tools=[word_counter_tool()],
    )
    task = Task(
        name="research\n  the   topic\n",
        description="Research {topic} and count the words of your key sentence with the tool.",
        expected_output="Key facts and a word count.",
        agent=agent,
    )
    return Crew(name="research\tcrew\n", agents=[agent], tasks=[task])


def test_names_are_stripped_and_whitespace_collapsed(traced_and_metered, llm_server):
    spans, reader = traced_and_metered
    from crewai.flow.flow import Flow, start

    llm = make_llm(llm_server.base_url)

    class ResearchFlow(Flow):  # type: ignore[misc]
        @start()
        def run_crew(self):
            return _folded_crew(llm).kickoff(inputs={"topic": "otel"})

    ResearchFlow(name="  research\n flow\n").kickoff()
    finished = spans.get_finished_spans()
    [root] = roots(finished)
    assert shape(finished, root) == [
        "invoke_workflow research flow",
        "  flow_method run_crew",
        "    invoke_workflow research crew",
        "      invoke_agent Research Agent",
        "        step Research Agent",
        "          chat gpt-4o-mini",
        "          execute_tool word_counter",
        "        step Research Agent",
        "          chat gpt-4o-mini",
    ]
    assert root.attributes["gen_ai.workflow.name"] == "research flow"
    assert root.attributes["crewai.flow.name"] == "research flow"
    [method] = by_name(finished, "flow_method")
    assert method.attributes["crewai.flow.name"] == "research flow"
    [crew] = by_name(finished, "invoke_workflow research crew")
    assert crew.attributes["gen_ai.workflow.name"] == "research crew"
    below = [s for s in finished if s.name.split(" ")[0] not in ("invoke_workflow", "flow_method")]
    assert below
    for span in below:
        assert span.attributes["gen_ai.agent.name"] == "Research Agent", span.name
        assert span.attributes["crewai.task.name"] == "research the topic", span.name
        assert span.attributes["crewai.crew.name"] == "research crew", span.name
    points = [
        (metric.name, dict(point.attributes))
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        for point in metric.data.data_points
    ]
    names = {name for name, _ in points}
    assert {"crewscope.agent.executions", "gen_ai.client.operation.duration"} <= names
    assert "crewscope.tool.calls" in names
    for name, attrs in points:
        assert attrs["gen_ai.agent.name"] == "Research Agent", name
        assert attrs["crewai.crew.name"] == "research crew", name
        if "crewai.task.name" in attrs:
            assert attrs["crewai.task.name"] == "research the topic", name
