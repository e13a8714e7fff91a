"""Agent-step spans (one LLM turn plus its tool calls) and LLM-call (``chat``) spans."""

from __future__ import annotations

import json
import time
from contextvars import Token
from typing import Any

from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation import _content as C
from crewscope.instrumentation._spans import SpanHandle, StartHook, Telemetry, error_type, reset_var
from crewscope.instrumentation._state import (
    ATTEMPT,
    CHAT,
    RUN_INFO,
    STEPS,
    TOTALS,
    SpanKey,
    span_key,
)
from crewscope.instrumentation.redaction import KNOWN_SECRETS

STEP_TOOL_CALL = "tool_call"
STEP_FINAL_ANSWER = "final_answer"


def _step_type(result: Any) -> str:
    if isinstance(result, list):  # native function calling: a list of tool calls
        return STEP_TOOL_CALL
    if isinstance(result, str) and "Final Answer:" not in result and "Action:" in result:
        return STEP_TOOL_CALL  # ReAct text asking for a tool
    return STEP_FINAL_ANSWER


class StepSpan(SpanHandle):
    """One agent LLM turn; after a tool-calling turn it stays open for the turn's tools."""

    __slots__ = ("_key",)

    def __init__(self, span: Span, key: SpanKey) -> None:
        super().__init__(span)
        self._key = key  # the span enclosing the executor

    def on_finish(self, result: Any) -> bool:
        kind = _step_type(result)
        self.span.set_attribute(A.STEP_TYPE, kind)
        if kind == STEP_TOOL_CALL:
            return True  # stays open for the tool calls; ended by the next turn
        STEPS.close(self._key)
        return False

    def on_fail(self, exc: BaseException) -> None:
        STEPS.close(self._key)


def agent_step(tel: Telemetry) -> StartHook:
    """``get_llm_response`` runs exactly once per agent LLM turn, so it opens a step.

    The step stays open after a tool-calling turn: the turn's tool spans are parented to it
    explicitly (they run in later executor flow steps, on other threads), and it ends when
    the next turn starts or the executor returns.
    """

    def start(_: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> StepSpan | None:
        key = span_key()
        if key == (0, 0):
            return None
        previous, index = STEPS.begin(key)
        if previous is not None:
            previous.end()
        role = A.agent_role(kwargs.get("from_agent"))
        info = RUN_INFO.get()
        attrs = info.attributes()
        attrs[A.STEP_INDEX] = index
        attempt = ATTEMPT.get()
        if attempt is not None:
            attrs[A.TASK_ATTEMPT] = attempt
        if role:
            attrs[A.AGENT_NAME] = role
        span = tel.tracer.start_span(
            f"step {role or info.agent or 'agent'}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        STEPS.set_open(key, span)
        return StepSpan(span, key)

    return start


def executor_invoke_end(_: Any, state: Any) -> None:
    """After ``AgentExecutor.invoke``: end the step left open by the last tool turn."""
    STEPS.end(span_key())


class ChatSpan(SpanHandle):
    """One LLM request, and the usage the provider reported during it (summed if reported
    twice); ``usage_tracked`` adds to the open one (``CHAT``)."""

    __slots__ = (
        "_attrs",
        "_chat_token",
        "_error",
        "_input_messages",
        "_output_messages",
        "_started",
        "_tel",
        "cache_read_tokens",
        "input_tokens",
        "output_tokens",
        "reported",
        "response_model",
    )

    def __init__(
        self,
        tel: Telemetry,
        span: Span,
        attrs: dict[str, AttributeValue],
        input_messages: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(span)
        self._tel = tel
        self._attrs = attrs
        self._input_messages = input_messages  # captured content, for the log event
        self._output_messages: list[dict[str, Any]] | None = None
        self._started = time.perf_counter()
        self._error: str | None = None
        self._chat_token: Token[ChatSpan | None] | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.cache_read_tokens = 0
        self.reported = False
        self.response_model: str | None = None

    def set_context(self) -> None:
        self._chat_token = CHAT.set(self)

    def reset_context(self) -> None:
        reset_var(CHAT, self._chat_token)

    def add_usage(self, input_tokens: int, output_tokens: int, cache_read_tokens: int) -> None:
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cache_read_tokens += cache_read_tokens
        self.reported = True

    def on_finish(self, result: Any) -> bool:
        capture = self._tel.capture
        if capture.enabled:
            messages = C.output_message_list(capture, result)
            self._output_messages = messages
            self._tel.content(self.span, {A.OUTPUT_MESSAGES: json.dumps(messages)})
        return False

    def on_fail(self, exc: BaseException) -> None:
        self._error = error_type(exc)

    def on_exit(self) -> None:
        span = self.span
        if self.response_model:
            span.set_attribute(A.RESPONSE_MODEL, self.response_model)
        if self.reported:
            span.set_attributes(
                {A.INPUT_TOKENS: self.input_tokens, A.OUTPUT_TOKENS: self.output_tokens}
            )
            if self.cache_read_tokens:
                span.set_attribute(A.CACHE_READ_TOKENS, self.cache_read_tokens)
        for totals in TOTALS.get():
            totals.add_llm(self.input_tokens, self.output_tokens)
        events = self._tel.events
        if events is not None and events.enabled():
            events.emit(
                span,
                self._attrs,
                response_model=self.response_model,
                tokens=(self.input_tokens, self.output_tokens) if self.reported else None,
                input_messages=self._input_messages,
                output_messages=self._output_messages,
                error=self._error,
            )
        metrics = self._tel.metrics
        if metrics is not None:
            metrics.llm_call(
                span,
                self._attrs,
                time.perf_counter() - self._started,
                (self.input_tokens, self.output_tokens) if self.reported else None,
                self._error,
            )


def llm_call(tel: Telemetry) -> StartHook:
    """``<Provider>.call`` / ``acall``: one ``chat`` span per LLM request.

    Tokens come from ``_track_token_usage_internal`` (see ``usage_tracked``), which every
    provider calls once per response, streaming included; CrewAI's own ``usage_metrics``
    double-counts shared LLMs and is not used.
    """

    def start(llm: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ChatSpan | None:
        if CHAT.get() is not None:  # a provider call nested in another (e.g. Bedrock acall)
            return None
        # its api_key and auth headers are scrubbed wherever they would be recorded
        KNOWN_SECRETS.add_llm(llm)
        model = A.model_name(llm)
        attrs = RUN_INFO.get().attributes()
        attrs.update(
            A.clean(
                {
                    A.OPERATION: A.OP_CHAT,
                    A.PROVIDER: A.provider_name(llm),
                    A.REQUEST_MODEL: model,
                }
            )
        )
        span = tel.tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=attrs)
        captured = None
        if tel.capture.enabled:
            messages = args[0] if args else kwargs.get("messages")
            captured = C.input_message_list(tel.capture, messages)
            if captured is not None:
                tel.content(span, {A.INPUT_MESSAGES: json.dumps(captured)})
        return ChatSpan(tel, span, attrs, captured)

    return start


def usage_tracked(llm: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before ``BaseLLM._track_token_usage_internal``: add the response's usage to the open chat."""
    chat = CHAT.get()
    if chat is None:
        return
    raw = args[0] if args else kwargs.get("usage_data")
    tokens = A.normalize_usage(raw)
    if tokens is not None:
        chat.add_usage(*tokens)


def response_read(llm: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before a provider reads usage off its response object (once per response, streaming
    included): note the model that answered on the open chat (``gen_ai.response.model``)."""
    chat = CHAT.get()
    if chat is None:
        return
    response = args[0] if args else kwargs.get("response")
    # OpenAI, Azure and Anthropic responses carry ``model``; Gemini's ``model_version``
    model = getattr(response, "model", None) or getattr(response, "model_version", None)
    if isinstance(model, str) and model:
        chat.response_model = model
