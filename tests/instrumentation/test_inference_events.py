"""GenAI log events: one ``gen_ai.client.inference.operation.details`` record per LLM call in
the EVENT_ONLY / SPAN_AND_EVENT capture modes, real CrewAI against the fake LLM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogExporter, SimpleLogRecordProcessor
from opentelemetry.trace import StatusCode

from crewscope.demo.crew import build_crew, make_llm
from crewscope.instrumentation import CrewAIInstrumentor
from tests.instrumentation._tree import by_name, tokens

EVENT = "gen_ai.client.inference.operation.details"
TRUNCATED = "...[truncated]"


@pytest.fixture(scope="module")
def _logging() -> Iterator[tuple[LoggerProvider, InMemoryLogExporter]]:
    exporter = InMemoryLogExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def run(_tracing, _logging, llm_server):
    """run(capture, **instrument_kwargs) -> (chat spans, all spans, inference records)."""
    tracer_provider, span_exporter = _tracing
    logger_provider, log_exporter = _logging

    def kickoff(capture: str, llm: Any = None, **kwargs: Any) -> tuple[list, list, list]:
        span_exporter.clear()
        log_exporter.clear()
        instrumentor = CrewAIInstrumentor()
        instrumentor.instrument(
            tracer_provider=tracer_provider,
            logger_provider=logger_provider,
            capture_content=capture,
            **kwargs,
        )
        try:
            build_crew(llm or make_llm(llm_server.base_url)).kickoff(inputs={"topic": "otel"})
        finally:
            instrumentor.uninstrument()
        finished = list(span_exporter.get_finished_spans())
        records = [r.log_record for r in log_exporter.get_finished_logs()]
        span_exporter.clear()
        log_exporter.clear()
        return by_name(finished, "chat "), finished, records

    return kickoff


def _plain(value: Any) -> Any:
    """A structured attribute (the SDK stores tuples) as plain JSON values."""
    return json.loads(json.dumps(value))


def _text_parts(messages: Any) -> list[str]:
    return [p["content"] for m in _plain(messages) for p in m["parts"] if p["type"] == "text"]


def test_event_only_one_event_per_llm_call_in_the_chat_span(run, llm_server):
    chats, finished, records = run("EVENT_ONLY")
    calls = llm_server.calls
    assert len(calls) >= 3 and len(chats) == len(calls)
    assert len(records) == len(calls)
    # each record is emitted in its chat span's context, one record per chat span
    assert [r.span_id for r in records] == [c.context.span_id for c in chats]
    assert {r.trace_id for r in records} == {chats[0].context.trace_id}
    for record, chat, call in zip(records, chats, calls, strict=True):
        assert record.event_name == EVENT
        attrs = record.attributes
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.provider.name"] == "openai"
        assert attrs["gen_ai.request.model"] == call.model
        assert attrs["gen_ai.response.model"] == chat.attributes["gen_ai.response.model"]
        assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (
            call.prompt_tokens,
            call.completion_tokens,
        )
        assert "error.type" not in attrs
        inputs = _plain(attrs["gen_ai.input.messages"])
        assert inputs and {m["role"] for m in inputs} >= {"system", "user"}
        [output] = _plain(attrs["gen_ai.output.messages"])
        assert output["role"] == "assistant" and output["finish_reason"] in ("stop", "tool_call")
        assert record.timestamp is not None
    # a native tool call is a structured tool_call part of the output message
    asking = [
        r
        for r in records
        if _plain(r.attributes["gen_ai.output.messages"])[0]["finish_reason"] == "tool_call"
    ]
    [part] = _plain(asking[0].attributes["gen_ai.output.messages"])[0]["parts"]
    assert part["type"] == "tool_call" and part["name"] == "word_counter"
    assert isinstance(part["arguments"], dict)
    # EVENT_ONLY: no content on any span, not even as span events
    for span in finished:
        assert not [e for e in span.events if e.name == EVENT]
        for key in (
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.tool.call.arguments",
        ):
            assert key not in span.attributes
    # the spans themselves are unchanged: tokens still on the chat spans
    assert [tokens(c) for c in chats] == [(c.prompt_tokens, c.completion_tokens) for c in calls]


def test_span_and_event_gives_both_with_the_same_messages(run, llm_server):
    chats, _, records = run("SPAN_AND_EVENT")
    assert len(records) == len(chats) == len(llm_server.calls)
    for record, chat in zip(records, chats, strict=True):
        assert record.span_id == chat.context.span_id
        for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
            assert _plain(record.attributes[key]) == json.loads(chat.attributes[key])
        assert record.attributes["gen_ai.usage.input_tokens"] == tokens(chat)[0]
        assert record.attributes["gen_ai.usage.output_tokens"] == tokens(chat)[1]
        assert not chat.events


@pytest.mark.parametrize("capture", ["NO_CONTENT", "SPAN_ONLY", "true"])
def test_no_event_unless_the_mode_asks_for_events(run, llm_server, capture):
    chats, _, records = run(capture)
    assert chats and records == []


def test_truncation_applies_to_event_messages(run, llm_server):
    limit = 40
    chats, _, records = run("SPAN_AND_EVENT", max_content_length=limit)
    assert len(records) == len(chats)
    texts = [t for r in records for t in _text_parts(r.attributes["gen_ai.input.messages"])]
    texts += [t for r in records for t in _text_parts(r.attributes["gen_ai.output.messages"])]
    assert texts and all(len(t) <= limit for t in texts)
    assert any(t.endswith(TRUNCATED) for t in texts)  # the prompts are longer than 40
    for record, chat in zip(records, chats, strict=True):  # the same cut as on the span
        assert _plain(record.attributes["gen_ai.input.messages"]) == json.loads(
            chat.attributes["gen_ai.input.messages"]
        )


def test_failed_llm_call_event_has_error_type_and_no_usage(run, llm_server):
    llm_server.fail_next(1, 500)
    chats, _, records = run("EVENT_ONLY", llm=make_llm(llm_server.base_url, max_retries=0))
    assert len(records) == len(chats) == len(llm_server.calls)
    [failed] = [c for c in chats if c.status.status_code is StatusCode.ERROR]
    [record] = [r for r in records if r.span_id == failed.context.span_id]
    attrs = record.attributes
    assert attrs["error.type"] == "openai.InternalServerError"
    assert "gen_ai.usage.input_tokens" not in attrs and "gen_ai.response.model" not in attrs
    assert "gen_ai.output.messages" not in attrs and attrs["gen_ai.input.messages"]
    assert sum("error.type" in r.attributes for r in records) == 1


def test_event_mode_without_a_logger_provider_is_a_no_op(_tracing, llm_server):
    """No logger_provider and (in this process) no global one: the default proxy logger is
    disabled, so nothing is built or emitted and the run is traced as usual."""
    from opentelemetry._logs import get_logger_provider
    from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider

    if isinstance(get_logger_provider(), SdkLoggerProvider):
        pytest.skip("a global LoggerProvider is set in this process")
    tracer_provider, span_exporter = _tracing
    span_exporter.clear()
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, capture_content="EVENT_ONLY")
    try:
        assert build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "t"}).raw
    finally:
        instrumentor.uninstrument()
    chats = by_name(span_exporter.get_finished_spans(), "chat ")
    assert len(chats) == len(llm_server.calls)
    assert all("gen_ai.input.messages" not in c.attributes and not c.events for c in chats)
    span_exporter.clear()
