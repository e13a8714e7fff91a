"""A real CrewAI crew against the fake LLM: the span tree, tokens and kickoff variants."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from crewscope.demo.crew import build_crew, make_llm
from tests.instrumentation._tree import by_name, children, parent_of, roots, shape, tokens

EXPECTED_SHAPE = [
    "invoke_workflow research_crew",
    "  invoke_agent Researcher",
    "    step Researcher",
    "      chat gpt-4o-mini",
    "      execute_tool word_counter",
    "    step Researcher",
    "      chat gpt-4o-mini",
    "  invoke_agent Writer",
    "    step Writer",
    "      chat gpt-4o-mini",
]


def test_span_tree_names_kinds_and_parents(spans, llm_server):
    output = build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "otel"})
    assert output.raw
    finished = spans.get_finished_spans()
    [root] = roots(finished)
    assert shape(finished, root) == EXPECTED_SHAPE
    assert {s.context.trace_id for s in finished} == {root.context.trace_id}
    assert root.kind is SpanKind.INTERNAL and root.status.status_code is StatusCode.OK
    assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root.attributes["gen_ai.workflow.name"] == "research_crew"
    assert root.attributes["crewai.crew.kickoff"] == "kickoff"
    assert tuple(root.attributes["crewai.crew.input_keys"]) == ("topic",)
    for chat in by_name(finished, "chat "):
        assert chat.kind is SpanKind.CLIENT
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.provider.name"] == "openai"
        assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
        assert chat.attributes["crewai.crew.name"] == "research_crew"
        assert parent_of(finished, chat).name.startswith("step ")
    research, write = by_name(finished, "invoke_agent")
    assert research.attributes["gen_ai.agent.name"] == "Researcher"
    assert research.attributes["crewai.task.name"] == "research"
    assert write.attributes["crewai.task.name"] == "write"
    steps = children(finished, research)
    assert [s.attributes["crewai.step.index"] for s in steps] == [1, 2]
    assert [s.attributes["crewai.step.type"] for s in steps] == ["tool_call", "final_answer"]
    [tool] = by_name(finished, "execute_tool")
    assert tool.attributes["gen_ai.tool.name"] == "word_counter"
    assert tool.attributes["gen_ai.tool.call.id"].startswith("call_")
    assert tool.attributes["gen_ai.agent.name"] == "Researcher"
    assert tool.status.status_code is StatusCode.UNSET
    # each step covers its LLM turn and the turn's tool call
    assert steps[0].start_time <= tool.start_time and tool.end_time <= steps[0].end_time


def test_tokens_exact_per_call_and_totals(spans, llm_server):
    build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "otel"})
    finished = spans.get_finished_spans()
    reported = [(c.prompt_tokens, c.completion_tokens) for c in llm_server.calls]
    chats = by_name(finished, "chat ")
    assert [tokens(c) for c in chats] == reported
    for task in by_name(finished, "invoke_agent"):
        below = [c for c in chats if _is_descendant(finished, c, task)]
        assert tokens(task) == (
            sum(t[0] for t in map(tokens, below)),
            sum(t[1] for t in map(tokens, below)),
        )
        assert task.attributes["crewscope.llm.calls"] == len(below)
    [root] = roots(finished)
    assert tokens(root) == (sum(r[0] for r in reported), sum(r[1] for r in reported))
    assert root.attributes["crewscope.tool.calls"] == 1


def _is_descendant(finished, span, ancestor):
    while span.parent is not None:
        span = parent_of(finished, span)
        if span.context.span_id == ancestor.context.span_id:
            return True
    return False


def test_second_kickoff_of_same_crew_is_a_separate_trace_with_its_own_totals(spans, llm_server):
    crew = build_crew(make_llm(llm_server.base_url))
    crew.kickoff(inputs={"topic": "one"})
    first_calls = llm_server.calls
    crew.kickoff(inputs={"topic": "two"})
    second_calls = llm_server.calls[len(first_calls) :]
    finished = spans.get_finished_spans()
    first, second = sorted(roots(finished), key=lambda s: s.start_time)
    assert first.context.trace_id != second.context.trace_id
    assert tokens(second) == (
        sum(c.prompt_tokens for c in second_calls),
        sum(c.completion_tokens for c in second_calls),
    )
    for root in (first, second):
        assert len([s for s in finished if s.context.trace_id == root.context.trace_id]) == 10


def test_kickoff_async_and_akickoff(spans, llm_server):
    crew = build_crew(make_llm(llm_server.base_url))
    asyncio.run(crew.kickoff_async(inputs={"topic": "a"}))
    asyncio.run(crew.akickoff(inputs={"topic": "b"}))
    finished = spans.get_finished_spans()
    trace_roots = sorted(roots(finished), key=lambda s: s.start_time)
    assert [r.attributes["crewai.crew.kickoff"] for r in trace_roots] == [
        "kickoff_async",
        "akickoff",
    ]
    for root in trace_roots:
        assert shape(finished, root) == EXPECTED_SHAPE
    calls = llm_server.calls
    assert sum(tokens(r)[0] for r in trace_roots) == sum(c.prompt_tokens for c in calls)


def test_kickoff_for_each_gives_one_trace_per_input(spans, llm_server):
    crew = build_crew(make_llm(llm_server.base_url))
    results = crew.kickoff_for_each(inputs=[{"topic": "a"}, {"topic": "b"}, {"topic": "c"}])
    assert len(results) == 3
    finished = spans.get_finished_spans()
    trace_roots = roots(finished)
    assert len(trace_roots) == 3
    assert len({r.context.trace_id for r in trace_roots}) == 3
    assert {r.attributes["crewai.crew.kickoff"] for r in trace_roots} == {"kickoff_for_each"}
    for root in trace_roots:
        assert shape(finished, root) == EXPECTED_SHAPE


def test_streaming_llm_reports_exact_tokens(spans, llm_server):
    build_crew(make_llm(llm_server.base_url, stream=True)).kickoff(inputs={"topic": "s"})
    calls = llm_server.calls
    assert calls and all(c.stream for c in calls)
    chats = by_name(spans.get_finished_spans(), "chat ")
    assert [tokens(c) for c in chats] == [(c.prompt_tokens, c.completion_tokens) for c in calls]


@pytest.mark.parametrize("stream", [False, True])
def test_response_model_is_the_model_the_provider_answered_with(spans, llm_server, stream):
    llm_server.fail_next(1, 500)
    llm = make_llm(llm_server.base_url, stream=stream, max_retries=0)
    build_crew(llm).kickoff(inputs={"topic": "m"})
    chats = by_name(spans.get_finished_spans(), "chat ")
    answered = [c for c in llm_server.calls if c.status == 200]
    failed = [c for c in chats if c.status.status_code is StatusCode.ERROR]
    ok = [c for c in chats if c.status.status_code is not StatusCode.ERROR]
    assert len(failed) == 1 and "gen_ai.response.model" not in failed[0].attributes
    assert [c.attributes.get("gen_ai.response.model") for c in ok] == [c.model for c in answered]


def test_standalone_agent_kickoff_is_an_invoke_agent_trace(spans, llm_server):
    from crewai import Agent

    from crewscope.demo.crew import word_counter_tool

    agent = Agent(
        role="Solo",
        goal="g",
        backstory="b",
        llm=make_llm(llm_server.base_url),
        tools=[word_counter_tool()],
    )
    result = agent.kickoff("Count the words in 'a b c'")
    assert result.raw
    finished = spans.get_finished_spans()
    [root] = roots(finished)
    assert root.name == "invoke_agent Solo"
    assert shape(finished, root) == [
        "invoke_agent Solo",
        "  step Solo",
        "    chat gpt-4o-mini",
        "    execute_tool word_counter",
        "  step Solo",
        "    chat gpt-4o-mini",
    ]
    calls = llm_server.calls
    assert tokens(root) == (
        sum(c.prompt_tokens for c in calls),
        sum(c.completion_tokens for c in calls),
    )


def test_memory_saves_and_queries_are_spans(spans, llm_server, tmp_path):
    from crewscope.demo.crew import make_memory

    llm = make_llm(llm_server.base_url)
    crew = build_crew(llm, memory=make_memory(llm, str(tmp_path / "memory")))
    crew.kickoff(inputs={"topic": "memory"})
    finished = spans.get_finished_spans()
    saves = by_name(finished, "memory save")
    queries = by_name(finished, "memory query")
    assert len(saves) == 2 and len(queries) >= 2
    assert {s.attributes["gen_ai.agent.name"] for s in saves} == {"Researcher", "Writer"}
    assert all(q.attributes["crewai.memory.operation"] == "query" for q in queries)
    # the Writer's recall finds what the Researcher saved
    writer_queries = [q for q in queries if q.attributes["gen_ai.agent.name"] == "Writer"]
    assert max(q.attributes["crewai.memory.results"] for q in writer_queries) >= 1
    for span in saves + queries:
        assert parent_of(finished, span).attributes.get("gen_ai.operation.name") in (
            "invoke_agent",
            "execute_tool",
        )
    [root] = roots(finished)
    calls = llm_server.calls
    assert tokens(root) == (
        sum(c.prompt_tokens for c in calls),
        sum(c.completion_tokens for c in calls),
    )
