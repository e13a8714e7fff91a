"""Delegated work (hierarchical manager, ``allow_delegation=True``) is the coworker's own
``invoke_agent`` span under the delegation tool span, marked ``crewscope.delegated``."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import StatusCode

from crewscope.demo.crew import make_llm, word_counter_tool
from tests.helpers.projects import shapes
from tests.instrumentation._runs import RUN_ID, check_run_attributes, hex_id
from tests.instrumentation._tree import by_name, children, parent_of, roots, tokens

DELEGATED = "crewscope.delegated"
DELEGATE_TOOL = "execute_tool delegate_work_to_coworker"
FAKE_TASK = "observability for crewai agents"  # the fake LLM's value for the `task` argument


def _below(finished: Any, ancestor: Any) -> list[Any]:
    out = []
    for span in finished:
        s = span
        while s.parent is not None:
            s = parent_of(finished, s)
            if s.context.span_id == ancestor.context.span_id:
                out.append(span)
                break
    return out


def _sums(chats: list[Any]) -> tuple[int, int]:
    return sum(tokens(c)[0] for c in chats), sum(tokens(c)[1] for c in chats)


def test_hierarchical_manager_delegates_to_two_coworkers(spans, llm_server):
    shapes.support_crew(llm_server.base_url)
    finished = spans.get_finished_spans()
    [crew] = check_run_attributes(finished)
    manager_tasks = [s for s in children(finished, crew) if s.name == "invoke_agent Crew Manager"]
    assert [t.attributes["crewai.task.name"] for t in manager_tasks] == [
        "investigate_task",
        "answer_task",
    ]
    delegated = [s for s in finished if s.attributes.get(DELEGATED)]
    assert sorted(s.name for s in delegated) == [
        "invoke_agent Research Specialist",
        "invoke_agent Support Writer",
    ]
    for task, coworker in zip(
        manager_tasks, ("Research Specialist", "Support Writer"), strict=True
    ):
        assert DELEGATED not in task.attributes
        [work] = [s for s in _below(finished, task) if s.attributes.get(DELEGATED)]
        tool = parent_of(finished, work)
        assert tool.name == DELEGATE_TOOL
        assert parent_of(finished, parent_of(finished, tool)) == task  # tool < step < task
        a = work.attributes
        assert a["gen_ai.operation.name"] == "invoke_agent"
        assert a["gen_ai.agent.name"] == coworker
        # named after the manager's task: the ad-hoc task is the manager LLM's text (content)
        assert a["crewai.task.name"] == task.attributes["crewai.task.name"] and a["crewai.task.id"]
        assert "crewai.delegation.task" not in a
        assert a["crewai.crew.name"] == "support crew"
        assert a[RUN_ID] == hex_id(crew) and "crewscope.run.kind" not in a
        assert work.status.status_code is StatusCode.OK
        # the coworker's own steps and LLM calls are attributed to the coworker
        [step] = children(finished, work)
        [chat] = children(finished, step)
        for span in (step, chat):
            assert span.attributes["gen_ai.agent.name"] == coworker, span.name
            assert span.attributes["crewai.task.name"] == a["crewai.task.name"], span.name
        # totals are sums of the chat spans beneath: the coworker's own in its span, all of
        # them (the manager's and the coworker's) in the manager's task span
        assert tokens(work) == _sums([chat]) and work.attributes["crewscope.llm.calls"] == 1
        beneath = [s for s in _below(finished, task) if s.name.startswith("chat ")]
        assert len(beneath) == 3 and tokens(task) == _sums(beneath)
    calls = llm_server.calls
    assert tokens(crew) == (
        sum(c.prompt_tokens for c in calls),
        sum(c.completion_tokens for c in calls),
    )


def _delegating_crew(llm: Any, analyst_llm: Any = None) -> Any:
    from crewai import Agent, Crew, Task

    lead = Agent(
        role="Lead Engineer",
        goal="Ship the release",
        backstory="You delegate well.",
        llm=llm,
        allow_delegation=True,
    )
    analyst = Agent(
        role="Data\nAnalyst\n",
        goal="Measure things",
        backstory="You count words with your tool.",
        llm=analyst_llm or llm,
        tools=[word_counter_tool()],
    )
    task = Task(
        name="release notes",
        description="Write the release notes; the Data Analyst should count their words.",
        expected_output="Release notes.",
        agent=lead,
    )
    return Crew(name="release crew", agents=[lead, analyst], tasks=[task])


def test_allow_delegation_coworker_runs_its_own_tools(spans, llm_server):
    _delegating_crew(make_llm(llm_server.base_url)).kickoff()
    finished = spans.get_finished_spans()
    [crew] = check_run_attributes(finished)
    [task] = by_name(finished, "invoke_agent Lead Engineer")
    [work] = by_name(finished, "invoke_agent Data Analyst")
    assert work.attributes[DELEGATED] is True
    assert parent_of(finished, work).name == DELEGATE_TOOL
    [tool] = by_name(finished, "execute_tool word_counter")
    assert tool.attributes["gen_ai.agent.name"] == "Data Analyst"
    assert parent_of(finished, tool).name == "step Data Analyst"
    assert parent_of(finished, parent_of(finished, tool)) == work
    assert work.attributes["crewscope.tool.calls"] == 1
    assert task.attributes["crewscope.tool.calls"] == 2  # the delegation and the coworker's
    [delegation] = by_name(finished, DELEGATE_TOOL)
    assert delegation.status.status_code is StatusCode.UNSET
    assert [r.name for r in roots(finished)] == [crew.name]


def test_failed_delegated_work_is_one_error_span_and_the_manager_goes_on(spans, llm_server):
    """The coworker's LLM is unreachable: CrewAI retries ``execute_task`` (no new span) and
    the delegation tool returns the error to the lead, who still answers."""
    unreachable = make_llm("http://127.0.0.1:9/v1", max_retries=0)
    output = _delegating_crew(make_llm(llm_server.base_url), unreachable).kickoff()
    assert output.raw
    finished = spans.get_finished_spans()
    [work] = by_name(finished, "invoke_agent Data Analyst")
    assert work.attributes[DELEGATED] is True
    assert work.status.status_code is StatusCode.ERROR and work.attributes["error.type"]
    [task] = by_name(finished, "invoke_agent Lead Engineer")
    assert task.status.status_code is StatusCode.OK
    check_run_attributes(finished)


def test_no_delegated_span_outside_delegation(spans, llm_server):
    shapes.research_crew(llm_server.base_url)
    assert not [s for s in spans.get_finished_spans() if DELEGATED in s.attributes]


def test_delegated_task_text_is_content_recorded_only_with_capture(
    _tracing, monkeypatch, llm_server
):
    from crewscope.instrumentation import CrewAIInstrumentor

    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    provider, exporter = _tracing
    exporter.clear()
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        shapes.support_crew(llm_server.base_url)
    finally:
        instrumentor.uninstrument()
    finished = exporter.get_finished_spans()
    exporter.clear()
    delegated = [s for s in finished if s.attributes.get(DELEGATED)]
    assert len(delegated) == 2
    for work in delegated:
        assert work.attributes["crewai.delegation.task"] == FAKE_TASK
        assert work.attributes["crewai.task.name"] in ("investigate_task", "answer_task")
