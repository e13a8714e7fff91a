"""The span trees of the real CrewAI project shapes with async tasks, a guardrail retry,
structured output and knowledge (tests/helpers/projects), against the fake LLM: which spans
sit where, and tokens equal to what the fake LLM reported, call by call."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

from crewscope.demo.crew import build_crew, make_llm
from tests.helpers.projects import shapes
from tests.helpers.projects.guarded_crew.crew import GuardedCrew
from tests.helpers.projects.knowledge_crew.crew import KnowledgeCrew
from tests.helpers.projects.structured_crew.crew import Score, StructuredCrew
from tests.instrumentation._runs import RUN_ID, check_run_attributes, hex_id
from tests.instrumentation._tree import by_name, children, parent_of, roots, shape, tokens

ATTEMPT = "crewai.task.attempt"
ATTEMPTS = "crewai.task.attempts"


def _ok_calls(llm_server: Any) -> list[Any]:
    return [c for c in llm_server.calls if c.status == 200]


def _usage(calls: list[Any]) -> tuple[int, int]:
    return sum(c.prompt_tokens for c in calls), sum(c.completion_tokens for c in calls)


def _tasks(finished: Any) -> dict[str, Any]:
    return {s.attributes["crewai.task.name"]: s for s in by_name(finished, "invoke_agent ")}


def _sum_tokens(spans: list[Any]) -> tuple[int, int]:
    pairs = [tokens(s) for s in spans]
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def _chats_under(finished: Any, span: Any) -> list[Any]:
    out = []
    for child in children(finished, span):
        if child.name.startswith("chat "):
            out.append(child)
        out.extend(_chats_under(finished, child))
    return sorted(out, key=lambda s: s.start_time)


def test_async_tasks_run_side_by_side_and_the_sync_task_after_both(spans, llm_server):
    llm_server.set_latency(0.3)  # long enough for the two async tasks to overlap
    shapes.market_crew(llm_server.base_url)
    finished = spans.get_finished_spans()
    [run] = check_run_attributes(finished)
    [root] = roots(finished)
    assert root is run and run.name == "invoke_workflow market crew"
    assert sorted(c.name for c in children(finished, root)) == [
        "invoke_agent Market Researcher",
        "invoke_agent Strategist",
        "invoke_agent Technology Researcher",
    ]
    tasks = _tasks(finished)
    assert set(tasks) == {"tech_task", "market_task", "strategy_task"}
    for task in tasks.values():
        assert parent_of(finished, task) is run
        assert task.status.status_code is StatusCode.OK
        assert task.attributes[ATTEMPTS] == 1
        [step] = children(finished, task)
        [chat] = children(finished, step)
        assert step.attributes[ATTEMPT] == 1 and step.attributes["crewai.step.index"] == 1
        assert tokens(task) == tokens(chat) and task.attributes["crewscope.llm.calls"] == 1
    tech, market, strategy = tasks["tech_task"], tasks["market_task"], tasks["strategy_task"]
    # the async tasks overlap (their own threads); the sync task starts after both ended
    assert tech.start_time < market.end_time and market.start_time < tech.end_time
    assert strategy.start_time >= max(tech.end_time, market.end_time)
    calls = _ok_calls(llm_server)
    assert len(calls) == 3
    chats = by_name(finished, "chat ")
    assert Counter(tokens(c) for c in chats) == Counter(
        (c.prompt_tokens, c.completion_tokens) for c in calls
    )
    # the strategy task's call (last, after both) holds both results in its prompt
    assert tokens(strategy)[0] == max(c.prompt_tokens for c in calls)
    assert tokens(run) == _usage(calls) and run.attributes["crewscope.llm.calls"] == 3


@pytest.mark.parametrize("kickoff", ["kickoff", "akickoff"])
def test_guardrail_retry_is_a_second_agent_execution_inside_the_task(spans, llm_server, kickoff):
    project = GuardedCrew(make_llm(llm_server.base_url))
    crew = project.crew()
    if kickoff == "kickoff":
        output = crew.kickoff(inputs={"product": "Acme"})
    else:
        output = asyncio.run(crew.akickoff(inputs={"product": "Acme"}))
    assert output.raw and len(project.guardrail_calls) == 2  # rejected, then accepted
    finished = spans.get_finished_spans()
    [run] = check_run_attributes(finished)
    tasks = _tasks(finished)
    assert set(tasks) == {"draft_task", "edit_task"}  # one task span, not one per attempt
    draft = tasks["draft_task"]
    assert draft.name == "invoke_agent Copy Writer" and draft.status.status_code is StatusCode.OK
    assert parent_of(finished, draft) is run
    # the retry's step is a sibling of the first attempt's step, not nested in it
    first, retry = children(finished, draft)
    assert [first.name, retry.name] == ["step Copy Writer", "step Copy Writer"]
    assert [s.attributes["crewai.step.index"] for s in (first, retry)] == [1, 2]
    assert [s.attributes[ATTEMPT] for s in (first, retry)] == [1, 2]
    assert first.end_time <= retry.start_time
    assert draft.attributes[ATTEMPTS] == 2
    assert tasks["edit_task"].attributes[ATTEMPTS] == 1
    [first_chat], [retry_chat] = children(finished, first), children(finished, retry)
    calls = _ok_calls(llm_server)
    assert len(calls) == 3
    # the retry's prompt carries the rejection and the first answer: a longer prompt
    assert calls[1].prompt_tokens > calls[0].prompt_tokens
    assert tokens(first_chat) == (calls[0].prompt_tokens, calls[0].completion_tokens)
    assert tokens(retry_chat) == (calls[1].prompt_tokens, calls[1].completion_tokens)
    # each call counted once: in the task and in the run
    assert tokens(draft) == _usage(calls[:2]) and draft.attributes["crewscope.llm.calls"] == 2
    assert tokens(tasks["edit_task"]) == _usage(calls[2:])
    assert tokens(run) == _usage(calls) and run.attributes["crewscope.llm.calls"] == 3


def test_error_retry_is_a_second_agent_execution_too(spans, llm_server):
    """A failed LLM call: CrewAI runs ``execute_task`` again (recursively) inside the task;
    its steps are siblings numbered as attempt 2."""
    llm_server.fail_next(1, 500)
    build_crew(make_llm(llm_server.base_url, max_retries=0)).kickoff(inputs={"topic": "t"})
    finished = spans.get_finished_spans()
    research = _tasks(finished)["research"]
    steps = children(finished, research)
    assert [s.attributes[ATTEMPT] for s in steps] == [1, 2, 2]
    assert steps[0].status.status_code is StatusCode.ERROR
    assert research.attributes[ATTEMPTS] == 2
    assert _tasks(finished)["write"].attributes[ATTEMPTS] == 1


def test_structured_output_converter_call_is_a_chat_span_of_the_task(spans, llm_server):
    output = (
        StructuredCrew(make_llm(llm_server.base_url)).crew().kickoff(inputs={"topic": "tracing"})
    )
    score, summary = output.tasks_output
    assert isinstance(score.pydantic, Score) and score.json_dict is None
    assert summary.json_dict and set(summary.json_dict) == {"title", "key_points"}
    finished = spans.get_finished_spans()
    [run] = check_run_attributes(finished)
    calls = _ok_calls(llm_server)
    assert [(c.kind, c.response_format) for c in calls] == [
        ("tool_call", None),  # score_task: the agent calls its tool
        ("final", None),  # ... answers in text
        ("final", "Score"),  # ... and the converter asks for Score's JSON schema
        ("final", "Summary"),  # summary_task: no tools, the agent's own call is structured
    ]
    tasks = _tasks(finished)
    score_task, summary_task = tasks["score_task"], tasks["summary_task"]
    assert shape(finished, score_task) == [
        "invoke_agent Data Analyst",
        "  step Data Analyst",
        "    chat gpt-4o-mini",
        "    execute_tool word_counter",
        "  step Data Analyst",
        "    chat gpt-4o-mini",
        "  chat gpt-4o-mini",  # the converter's call: in the task, after the agent's steps
    ]
    converter = children(finished, score_task)[-1]
    assert converter.attributes["crewai.task.name"] == "score_task"
    assert converter.attributes[RUN_ID] == hex_id(run)
    assert tokens(converter) == (calls[2].prompt_tokens, calls[2].completion_tokens)
    assert [tokens(c) for c in _chats_under(finished, score_task)] == [
        (c.prompt_tokens, c.completion_tokens) for c in calls[:3]
    ]
    assert tokens(score_task) == _usage(calls[:3])
    assert score_task.attributes["crewscope.llm.calls"] == 3
    assert shape(finished, summary_task) == [
        "invoke_agent Report Writer",
        "  step Report Writer",
        "    chat gpt-4o-mini",
    ]
    assert tokens(summary_task) == _usage(calls[3:])
    assert tokens(run) == _usage(calls) and run.attributes["crewscope.llm.calls"] == 4


def test_knowledge_search_query_is_a_chat_span_of_the_task(spans, llm_server):
    crew = KnowledgeCrew(make_llm(llm_server.base_url)).crew()
    crew.kickoff(inputs={"product": "Acme"})
    [agent] = crew.agents
    assert "two year warranty" in (agent.crew_knowledge_context or "")  # really retrieved
    finished = spans.get_finished_spans()
    [run] = check_run_attributes(finished)
    [task] = by_name(finished, "invoke_agent ")
    assert shape(finished, run) == [
        "invoke_workflow knowledge crew",
        "  invoke_agent Product Expert",
        "    chat gpt-4o-mini",  # the knowledge search-query rewrite, before the first step
        "    step Product Expert",
        "      chat gpt-4o-mini",
    ]
    calls = _ok_calls(llm_server)
    assert len(calls) == 2
    rewrite, step = children(finished, task)
    [answer] = children(finished, step)
    assert rewrite.attributes["crewai.task.name"] == "answer_task"
    assert tokens(rewrite) == (calls[0].prompt_tokens, calls[0].completion_tokens)
    assert tokens(answer) == (calls[1].prompt_tokens, calls[1].completion_tokens)
    assert tokens(task) == tokens(run) == _usage(calls)
    assert run.attributes["crewscope.llm.calls"] == 2
    assert not by_name(finished, "memory ")  # knowledge is no memory operation
