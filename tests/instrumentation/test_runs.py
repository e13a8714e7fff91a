"""Run attributes (SPANS.md "Runs") on real CrewAI project shapes against the fake LLM.

For every shape in tests/helpers/projects the ids are checked against the span tree itself:
a run span's ``crewscope.run.id`` is its own span id, its parent run is the nearest run
span above it, and every other crewscope span carries the ids of its nearest run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from crewscope.demo.crew import make_llm
from tests.helpers.projects import SHAPES, shapes
from tests.helpers.projects.research_crew.crew import ResearchCrew
from tests.instrumentation._runs import (
    KIND,
    METHOD,
    PARENT_ID,
    ROOT_ID,
    RUN_ID,
    check_run_attributes,
    hex_id,
)
from tests.instrumentation._tree import by_name, parent_of, roots


def _run(name: str, base_url: str, tracing: Any) -> None:
    if name == "crew_twice_under_caller_span":
        shapes.crew_twice_under_caller_span(base_url, tracing[0].get_tracer("caller"))
    else:
        SHAPES[name].run(base_url)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_has_consistent_run_attributes(name, spans, llm_server, _tracing):
    _run(name, llm_server.base_url, _tracing)
    finished = spans.get_finished_spans()
    runs = check_run_attributes(finished)
    shape = SHAPES[name]
    top = [r for r in runs if PARENT_ID not in r.attributes]
    assert Counter(r.attributes[KIND] for r in top) == Counter(shape.top_level)
    nested = [r for r in runs if PARENT_ID in r.attributes]
    assert len(nested) == shape.nested and {r.attributes[KIND] for r in nested} <= {"crew"}
    assert len({s.context.trace_id for s in finished}) == shape.traces
    # every task, LLM call and tool call belongs to a run (checked above) and is counted once
    assert len(by_name(finished, "chat ")) == len(llm_server.calls)
    delegated = [s for s in finished if s.attributes.get("crewscope.delegated")]
    assert sorted(s.attributes["gen_ai.agent.name"] for s in delegated) == sorted(shape.delegated)


def test_content_flow_crew_runs_name_their_flow_method(spans, llm_server):
    shapes.content_flow(llm_server.base_url)
    finished = spans.get_finished_spans()
    flow, outline, writing = check_run_attributes(finished)
    assert flow.name == "invoke_workflow ContentFlow" and flow.attributes[KIND] == "flow"
    assert [r.attributes[KIND] for r in (outline, writing)] == ["crew", "crew"]
    assert outline.attributes[METHOD] == "plan_content"
    assert writing.attributes[METHOD] == "write_post"
    for run in (outline, writing):
        assert run.attributes[PARENT_ID] == run.attributes[ROOT_ID] == hex_id(flow)
    methods = {s.attributes["crewai.flow.method"]: s for s in by_name(finished, "flow_method")}
    assert set(methods) == {"plan_content", "choose_format", "write_post", "save_content"}
    for method in methods.values():  # flow-method spans belong to the flow run
        assert method.attributes[RUN_ID] == method.attributes[ROOT_ID] == hex_id(flow)
    tasks = {s.attributes["crewai.task.name"]: s for s in by_name(finished, "invoke_agent")}
    assert tasks["outline_task"].attributes[RUN_ID] == hex_id(outline)
    assert tasks["writing_task"].attributes[RUN_ID] == hex_id(writing)
    assert tasks["editing_task"].attributes[RUN_ID] == hex_id(writing)
    for span in finished:
        if span.name.startswith(("chat ", "step ", "invoke_agent ")):
            assert span.attributes[ROOT_ID] == hex_id(flow), span.name
            assert span.attributes[RUN_ID] in (hex_id(outline), hex_id(writing)), span.name


def test_batch_flow_concurrent_akickoff_crews_are_separate_crew_runs(spans, llm_server):
    shapes.batch_flow(llm_server.base_url)
    finished = spans.get_finished_spans()
    flow, *crews = check_run_attributes(finished)
    assert len(crews) == 3 and len({hex_id(c) for c in crews}) == 3
    for crew in crews:
        assert crew.attributes[METHOD] == "summarize_all"
        assert crew.attributes["crewai.crew.kickoff"] == "akickoff"
    # each crew's task and LLM call carry that crew's run id, not a sibling's
    for task in by_name(finished, "invoke_agent"):
        [crew] = [c for c in crews if c.context.span_id == task.parent.span_id]
        assert task.attributes[RUN_ID] == hex_id(crew)
    assert Counter(s.attributes[RUN_ID] for s in by_name(finished, "chat ")) == Counter(
        {hex_id(c): 1 for c in crews}
    )


def test_crew_kicked_off_twice_under_a_caller_span(spans, llm_server, _tracing):
    shapes.crew_twice_under_caller_span(llm_server.base_url, _tracing[0].get_tracer("caller"))
    finished = spans.get_finished_spans()
    [caller] = roots(finished)
    assert caller.name == shapes.CALLER_SPAN
    first, second = check_run_attributes(finished)
    for run in (first, second):
        assert run.parent.span_id == caller.context.span_id
        assert run.attributes[ROOT_ID] == hex_id(run) and PARENT_ID not in run.attributes
    assert first.context.trace_id == second.context.trace_id
    assert hex_id(first) != hex_id(second)


def test_kickoff_for_each_one_run_per_input(spans, llm_server):
    shapes.kickoff_for_each(llm_server.base_url)
    runs = check_run_attributes(spans.get_finished_spans())
    assert len(runs) == 3 and len({r.context.trace_id for r in runs}) == 3
    assert {r.attributes["crewai.crew.kickoff"] for r in runs} == {"kickoff_for_each"}


@pytest.mark.parametrize("how", ["kickoff_async", "akickoff", "stream", "astream", "flow_stream"])
def test_async_and_streaming_kickoffs_are_one_run(spans, llm_server, how):
    """kickoff_async runs kickoff in a thread, a streaming kickoff runs itself again with
    stream off: one run span either way."""
    import asyncio

    llm = make_llm(llm_server.base_url)
    crew = ResearchCrew(llm).crew()

    async def consume(streaming: Any) -> None:
        async for _ in streaming:
            pass

    if how == "kickoff_async":
        asyncio.run(crew.kickoff_async(inputs={"topic": "a"}))
    elif how == "akickoff":
        asyncio.run(crew.akickoff(inputs={"topic": "a"}))
    elif how == "stream":
        crew.stream = True
        for _ in crew.kickoff(inputs={"topic": "a"}):
            pass
    elif how == "astream":
        crew.stream = True

        async def main() -> None:
            await consume(await crew.akickoff(inputs={"topic": "a"}))

        asyncio.run(main())
    else:
        from crewai.flow.flow import Flow, start

        class StreamedFlow(Flow):  # type: ignore[misc]
            @start()
            def go(self) -> str:
                return ResearchCrew(llm).crew().kickoff(inputs={"topic": "a"}).raw

        async def main() -> None:
            flow = StreamedFlow()
            flow.stream = True
            await consume(await flow.kickoff_async())

        asyncio.run(main())
    finished = spans.get_finished_spans()
    runs = check_run_attributes(finished)
    workflows = by_name(finished, "invoke_workflow")
    assert workflows == [r for r in runs if r.name.startswith("invoke_workflow")]
    top = [r for r in runs if PARENT_ID not in r.attributes]
    assert len(top) == 1
    assert len(by_name(finished, "invoke_workflow research crew")) == 1


def test_standalone_agent_run(spans, llm_server):
    shapes.standalone_agent(llm_server.base_url)
    finished = spans.get_finished_spans()
    [run] = check_run_attributes(finished)
    assert run.name == "invoke_agent Fact Checker" and run.attributes[KIND] == "agent"
    assert {s.attributes[RUN_ID] for s in finished} == {hex_id(run)}


def test_runs_nested_in_a_crew_tool_and_in_a_flow_method(spans, llm_server):
    """A tool that kicks off another crew: a crew run nested in the calling crew's run. An
    agent kicked off in a flow method: an agent run nested in the flow run."""
    from crewai import Agent, Crew, Task
    from crewai.flow.flow import Flow, listen, start
    from crewai.tools import BaseTool

    llm = make_llm(llm_server.base_url)

    class ResearchTool(BaseTool):
        name: str = "run_research"
        description: str = "Runs the research crew on a topic."

        def _run(self, topic: str) -> str:
            return str(ResearchCrew(llm).crew().kickoff(inputs={"topic": topic}).raw)

    lead = Agent(role="Lead", goal="g", backstory="b", llm=llm, tools=[ResearchTool()])
    outer = Crew(
        name="outer crew",
        agents=[lead],
        tasks=[Task(name="plan", description="Plan.", expected_output="A plan.", agent=lead)],
    )

    class PlanFlow(Flow):  # type: ignore[misc]
        @start()
        def plan(self) -> str:
            return outer.kickoff().raw

        @listen(plan)
        def check(self) -> str:
            checker = Agent(role="Checker", goal="g", backstory="b", llm=llm)
            return checker.kickoff("Check the plan.").raw

    PlanFlow().kickoff()
    finished = spans.get_finished_spans()
    flow, outer_run, inner_run, agent_run = check_run_attributes(finished)
    assert [r.attributes[KIND] for r in (flow, outer_run, inner_run, agent_run)] == [
        "flow",
        "crew",
        "crew",
        "agent",
    ]
    assert inner_run.name == "invoke_workflow research crew"
    assert inner_run.attributes[PARENT_ID] == hex_id(outer_run)
    assert METHOD not in inner_run.attributes
    assert parent_of(finished, inner_run).name == "execute_tool run_research"
    assert outer_run.attributes[METHOD] == "plan"
    assert agent_run.attributes[METHOD] == "check"
    assert agent_run.attributes[PARENT_ID] == hex_id(flow)
    assert {r.attributes[ROOT_ID] for r in (outer_run, inner_run, agent_run)} == {hex_id(flow)}
    assert by_name(finished, "execute_tool word_counter")[0].attributes[RUN_ID] == hex_id(inner_run)


def test_memory_spans_belong_to_the_run(spans, llm_server, tmp_path):
    """Memory saves run on CrewAI's memory-save thread pool: the run ids still reach them."""
    from crewscope.demo.crew import build_crew, make_memory

    llm = make_llm(llm_server.base_url)
    build_crew(llm, memory=make_memory(llm, str(tmp_path / "memory"))).kickoff(
        inputs={"topic": "memory"}
    )
    finished = spans.get_finished_spans()
    [run] = check_run_attributes(finished)
    memory = by_name(finished, "memory ")
    assert memory and {s.attributes[RUN_ID] for s in memory} == {hex_id(run)}
