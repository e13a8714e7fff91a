"""Agent-step spans (one LLM turn plus its tool calls) and LLM-call (``chat``) spans."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry.trace import Span, SpanKind

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation._spans import Handle, Telemetry, error_type
from crewscope.instrumentation._state import CHAT, RUN_INFO, STEPS, TOTALS, ChatUsage, span_key

STEP_TOOL_CALL = "tool_call"
STEP_FINAL_ANSWER = "final_answer"


def _step_type(result: Any) -> str:
    if isinstance(result, list):  # native function calling: a list of tool calls
        return STEP_TOOL_CALL
    if isinstance(result, str) and "Final Answer:" not in result and "Action:" in result:
        return STEP_TOOL_CALL  # ReAct text asking for a tool
    return STEP_FINAL_ANSWER


def agent_step(tel: Telemetry) -> Any:
    """``get_llm_response`` runs exactly once per agent LLM turn, so it opens a step.

    The step stays open after a tool-calling turn: the turn's tool spans are parented to it
    explicitly (they run in later executor flow steps, on other threads), and it ends when
    the next turn starts or the executor returns.
    """

    def start(_: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
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
        if role:
            attrs[A.AGENT_NAME] = role
        span = tel.tracer.start_span(
            f"step {role or info.agent or 'agent'}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        STEPS.set_open(key, span)

        def on_finish(s: Span, result: Any) -> bool:
            kind = _step_type(result)
            s.set_attribute(A.STEP_TYPE, kind)
            if kind == STEP_TOOL_CALL:
                return True  # stays open for the tool calls; ended by the next turn
            STEPS.close(key)
            return False

        def on_fail(s: Span, exc: BaseException) -> None:
            STEPS.close(key)

        return Handle(span, on_finish=on_finish, on_fail=on_fail)

    return start


def executor_invoke_end(_: Any, state: Any) -> None:
    """After ``AgentExecutor.invoke``: end the step left open by the last tool turn."""
    step = STEPS.close(span_key())
    if step is not None:
        step.end()


def llm_call(tel: Telemetry) -> Any:
    """``<Provider>.call`` / ``acall``: one ``chat`` span per LLM request.

    Tokens come from ``_track_token_usage_internal`` (see ``usage_tracked``), which every
    provider calls once per response, streaming included; CrewAI's own ``usage_metrics``
    double-counts shared LLMs and is not used.
    """

    def start(llm: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
        if CHAT.get() is not None:  # a provider call nested in another (e.g. Bedrock acall)
            return None
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
        if tel.capture.enabled:
            messages = args[0] if args else kwargs.get("messages")
            tel.content(
                span, {A.INPUT_MESSAGES: A.input_messages(messages, tel.capture.max_length)}
            )
        usage = ChatUsage()
        started = time.perf_counter()
        failure: list[str] = []

        def on_finish(s: Span, result: Any) -> None:
            if tel.capture.enabled:
                tel.content(
                    s, {A.OUTPUT_MESSAGES: A.output_messages(result, tel.capture.max_length)}
                )

        def on_fail(s: Span, exc: BaseException) -> None:
            failure.append(error_type(exc))

        def on_exit(s: Span) -> None:
            if usage.reported:
                s.set_attributes(
                    {A.INPUT_TOKENS: usage.input_tokens, A.OUTPUT_TOKENS: usage.output_tokens}
                )
                if usage.cache_read_tokens:
                    s.set_attribute(A.CACHE_READ_TOKENS, usage.cache_read_tokens)
            for totals in TOTALS.get():
                totals.add_llm(usage.input_tokens, usage.output_tokens)
            if tel.metrics is not None:
                tel.metrics.llm_call(
                    s,
                    attrs,
                    time.perf_counter() - started,
                    (usage.input_tokens, usage.output_tokens) if usage.reported else None,
                    failure[0] if failure else None,
                )

        return Handle(
            span,
            on_finish=on_finish,
            on_fail=on_fail,
            on_exit=on_exit,
            context_vars=((CHAT, usage),),
        )

    return start


def usage_tracked(llm: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before ``BaseLLM._track_token_usage_internal``: add the response's usage to the open chat."""
    usage = CHAT.get()
    if usage is None:
        return
    raw = args[0] if args else kwargs.get("usage_data")
    tokens = A.normalize_usage(raw)
    if tokens is None:
        return
    usage.input_tokens += tokens[0]
    usage.output_tokens += tokens[1]
    usage.cache_read_tokens += tokens[2]
    usage.reported = True
