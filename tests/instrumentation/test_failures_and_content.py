"""Tool errors, LLM errors, content capture, and telemetry that never hurts."""

from __future__ import annotations

import json
import socket

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import StatusCode

from crewscope.demo.crew import build_crew, make_llm, word_counter_tool
from crewscope.instrumentation import CrewAIInstrumentor
from tests.instrumentation._tree import by_name, children, parent_of, roots, tokens


def test_native_tool_that_raises_gives_error_span_but_crew_recovers(spans, llm_server):
    crew = build_crew(make_llm(llm_server.base_url), tool=word_counter_tool(fail=True))
    assert crew.kickoff(inputs={"topic": "t"}).raw
    finished = spans.get_finished_spans()
    [tool] = by_name(finished, "execute_tool")
    assert tool.status.status_code is StatusCode.ERROR
    assert "word counter is broken" in tool.status.description
    assert tool.attributes["error.type"] == "RuntimeError"
    [event] = tool.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "RuntimeError"
    [root] = roots(finished)
    assert root.status.status_code is StatusCode.OK


def _react_llm(base_url):
    from crewai.llms.providers.openai.completion import OpenAICompletion

    class ReActOnlyLLM(OpenAICompletion):
        """A model without native function calling: CrewAI falls back to ReAct text."""

        def supports_function_calling(self) -> bool:
            return False

    return ReActOnlyLLM(model="gpt-4o-mini", base_url=base_url, api_key="sk-local")


def test_react_tool_path_one_span_per_requested_call_with_every_failure(spans, llm_server):
    crew = build_crew(_react_llm(llm_server.base_url), tool=word_counter_tool(fail=True))
    assert crew.kickoff(inputs={"topic": "t"}).raw
    finished = spans.get_finished_spans()
    assert [c.kind for c in llm_server.calls][0] == "react_action"
    [tool] = by_name(finished, "execute_tool")
    assert tool.status.status_code is StatusCode.ERROR
    # CrewAI's ReAct path retries a failing tool; every execution is an exception event
    assert len(tool.events) >= 2 and {e.name for e in tool.events} == {"exception"}
    step = parent_of(finished, tool)
    assert step.name == "step Researcher" and step.attributes["crewai.step.type"] == "tool_call"


def test_react_tool_success(spans, llm_server):
    crew = build_crew(_react_llm(llm_server.base_url))
    crew.kickoff(inputs={"topic": "t"})
    [tool] = by_name(spans.get_finished_spans(), "execute_tool")
    assert tool.status.status_code is StatusCode.UNSET and not tool.events


def test_llm_http_500_gives_error_spans_and_the_retry_is_a_sibling(spans, llm_server):
    llm_server.fail_next(1, 500)
    crew = build_crew(make_llm(llm_server.base_url, max_retries=0))
    assert crew.kickoff(inputs={"topic": "t"}).raw
    finished = spans.get_finished_spans()
    chats = by_name(finished, "chat ")
    failed = [c for c in chats if c.status.status_code is StatusCode.ERROR]
    assert len(failed) == 1
    assert failed[0].attributes["error.type"] == "openai.InternalServerError"
    assert "gen_ai.usage.input_tokens" not in failed[0].attributes
    failed_step = parent_of(finished, failed[0])
    assert failed_step.status.status_code is StatusCode.ERROR
    research = parent_of(finished, failed_step)
    steps = children(finished, research)
    assert len(steps) == 3 and steps[0] is failed_step  # the retry: later siblings
    assert research.status.status_code is StatusCode.OK
    ok_calls = [c for c in llm_server.calls if c.status == 200]
    assert tokens(roots(finished)[0]) == (
        sum(c.prompt_tokens for c in ok_calls),
        sum(c.completion_tokens for c in ok_calls),
    )


def test_llm_failing_for_good_fails_task_and_crew_spans(spans, llm_server):
    llm_server.fail_next(50, 500)
    crew = build_crew(make_llm(llm_server.base_url, max_retries=0))
    with pytest.raises(Exception):  # noqa: B017 - whatever CrewAI raises, it must reach the user
        crew.kickoff(inputs={"topic": "t"})
    finished = spans.get_finished_spans()
    [root] = roots(finished)
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes["error.type"]
    [research] = by_name(finished, "invoke_agent")
    assert research.status.status_code is StatusCode.ERROR


def test_no_content_recorded_by_default(spans, llm_server):
    build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "secret-topic"})
    for span in spans.get_finished_spans():
        text = json.dumps(dict(span.attributes), default=str) + json.dumps(
            [dict(e.attributes or {}) for e in span.events], default=str
        )
        assert "secret-topic" not in text
        assert "gen_ai.input.messages" not in span.attributes
        assert "gen_ai.tool.call.arguments" not in span.attributes


@pytest.fixture
def capture_spans(_tracing, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    monkeypatch.setenv("CREWSCOPE_CAPTURE_MAX_LENGTH", "200")
    provider, exporter = _tracing
    exporter.clear()
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    yield exporter
    instrumentor.uninstrument()
    exporter.clear()


def test_content_capture_on_and_truncated(capture_spans, llm_server):
    long_topic = "observability " * 100
    build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": long_topic})
    finished = capture_spans.get_finished_spans()
    chat = by_name(finished, "chat ")[0]
    messages = json.loads(chat.attributes["gen_ai.input.messages"])
    assert messages[0]["role"] == "system"
    contents = [p["content"] for m in messages for p in m["parts"] if p["type"] == "text"]
    assert any("observability" in c for c in contents)
    assert all(len(c) <= 200 for c in contents)
    assert any(c.endswith("...[truncated]") for c in contents)
    assert json.loads(chat.attributes["gen_ai.output.messages"])[0]["role"] == "assistant"
    [tool] = by_name(finished, "execute_tool")
    assert "observability" in tool.attributes["gen_ai.tool.call.arguments"]
    assert tool.attributes["gen_ai.tool.call.result"] == "4"  # "observability for crewai agents"
    [root] = roots(finished)
    assert len(root.attributes["crewai.crew.inputs"]) <= 200
    assert root.attributes["crewscope.output.preview"]


def test_captured_tool_calls_are_semconv_message_parts(capture_spans, llm_server):
    build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "parts"})
    finished = capture_spans.get_finished_spans()
    [tool] = by_name(finished, "execute_tool")
    call_id = tool.attributes["gen_ai.tool.call.id"]
    asking, answering = by_name(finished, "chat ")[:2]  # the Researcher's two turns
    [output] = json.loads(asking.attributes["gen_ai.output.messages"])
    assert output == {
        "role": "assistant",
        "parts": [
            {
                "type": "tool_call",
                "id": call_id,
                "name": "word_counter",
                "arguments": {"text": "observability for crewai agents"},
            }
        ],
        "finish_reason": "tool_call",
    }
    history = json.loads(answering.attributes["gen_ai.input.messages"])
    [request] = [m for m in history if any(p["type"] == "tool_call" for p in m["parts"])]
    assert request["role"] == "assistant" and request["parts"] == output["parts"]
    [result] = [m for m in history if m["role"] == "tool"]
    assert result["parts"] == [{"type": "tool_call_response", "id": call_id, "response": "4"}]


class _Unprintable(Exception):
    """An app exception whose message cannot be rendered: recording it on a span fails."""

    def __str__(self) -> str:
        raise RuntimeError("no message")


def test_span_is_error_even_when_recording_the_failure_fails(spans):
    from crewai.tools import BaseTool

    error = _Unprintable()

    class Broken(BaseTool):
        name: str = "broken"
        description: str = "Always raises."

        def _run(self, text: str) -> str:
            raise error

    with pytest.raises(_Unprintable) as raised:
        Broken().run(text="x")
    assert raised.value is error  # the app's exception, unchanged
    [tool] = spans.get_finished_spans()
    assert tool.name == "execute_tool broken"
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.status.description == "_Unprintable"
    assert tool.attributes["error.type"].endswith("test_failures_and_content._Unprintable")


class _ExplodingTracerProvider(TracerProvider):
    def get_tracer(self, *args, **kwargs):
        tracer = super().get_tracer(*args, **kwargs)

        class Exploding:
            def start_span(self, *a, **k):
                raise RuntimeError("telemetry backend exploded")

            def __getattr__(self, name):
                return getattr(tracer, name)

        return Exploding()


def test_broken_telemetry_never_reaches_user_code(llm_server):
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=_ExplodingTracerProvider())
    try:
        output = build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "t"})
    finally:
        instrumentor.uninstrument()
    assert output.raw == "The crew looked into it and everything checks out."
    assert len(llm_server.calls) == 3


def test_network_guard_blocks_non_loopback():
    from tests.conftest import _netguard

    with pytest.raises(_netguard.NetworkBlocked):
        socket.create_connection(("10.255.255.1", 80), timeout=1)
    with pytest.raises(_netguard.NetworkBlocked):
        socket.getaddrinfo("api.openai.com", 443)
