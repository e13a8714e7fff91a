"""Standalone agents: ``Agent.kickoff`` / ``kickoff_async`` without a crew."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from opentelemetry.trace import Span, SpanKind

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation._spans import Handle, Telemetry
from crewscope.instrumentation._state import RUN_INFO, STEPS, TOTALS, Totals, span_key

# Agent.kickoff returns Agent.kickoff_async(...) when a loop is running: one span, not two.
_ACTIVE: ContextVar[frozenset[int]] = ContextVar("crewscope_agents", default=frozenset())


def agent_kickoff(tel: Telemetry) -> Any:
    """A standalone agent run: an ``invoke_agent`` span with token totals, like a task."""

    def start(agent: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
        active = _ACTIVE.get()
        if id(agent) in active:
            return None
        role = A.agent_role(agent) or "agent"
        attrs = RUN_INFO.get().attributes()
        attrs.update(
            A.clean(
                {
                    A.OPERATION: A.OP_AGENT,
                    A.AGENT_NAME: role,
                    A.AGENT_ID: str(getattr(agent, "id", "")) or None,
                }
            )
        )
        span = tel.tracer.start_span(
            f"invoke_agent {role}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        if tel.capture.enabled:
            messages = args[0] if args else kwargs.get("messages")
            tel.content(
                span, {A.INPUT_MESSAGES: A.input_messages(messages, tel.capture.max_length)}
            )
        totals = Totals()

        def on_finish(s: Span, result: Any) -> None:
            if tel.capture.enabled and result is not None:
                text = A.truncate(A.to_text(result), tel.capture.max_length)
                tel.content(s, {A.OUTPUT_PREVIEW: text})

        def on_exit(s: Span) -> None:
            s.set_attributes(
                {
                    A.INPUT_TOKENS: totals.input_tokens,
                    A.OUTPUT_TOKENS: totals.output_tokens,
                    A.LLM_CALLS: totals.llm_calls,
                    A.TOOL_CALLS: totals.tool_calls,
                }
            )
            step = STEPS.close(span_key(s), forget=True)
            if step is not None:
                step.end()

        return Handle(
            span,
            on_finish=on_finish,
            on_exit=on_exit,
            context_vars=(
                (RUN_INFO, RUN_INFO.get().with_(agent=role, task=None)),
                (TOTALS, (*TOTALS.get(), totals)),
                (_ACTIVE, active | {id(agent)}),
            ),
            ok_status=True,
        )

    return start
