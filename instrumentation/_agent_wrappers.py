"""Standalone agents: ``Agent.kickoff`` / ``kickoff_async`` without a crew."""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

from opentelemetry.trace import Span, SpanKind

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation import _content as C
from crewscope.instrumentation._run_spans import RunSpan, stamp_run
from crewscope.instrumentation._spans import StartHook, Telemetry, reset_var
from crewscope.instrumentation._state import RUN_INFO, STEPS, RunInfo, span_key
from crewscope.instrumentation.redaction import KNOWN_SECRETS

# Agent.kickoff returns Agent.kickoff_async(...) when a loop is running: one span, not two.
_ACTIVE: ContextVar[frozenset[int]] = ContextVar("crewscope_agents", default=frozenset())


class AgentSpan(RunSpan):
    """A standalone agent run: an ``invoke_agent`` span with token totals, like a task."""

    __slots__ = ("_active", "_active_token")

    def __init__(self, tel: Telemetry, span: Span, info: RunInfo, active: frozenset[int]) -> None:
        super().__init__(tel, span, info)
        self._active = active
        self._active_token: Token[frozenset[int]] | None = None

    def set_context(self) -> None:
        super().set_context()
        self._active_token = _ACTIVE.set(self._active)

    def reset_context(self) -> None:
        reset_var(_ACTIVE, self._active_token)
        super().reset_context()

    def on_exit(self) -> None:
        super().on_exit()
        STEPS.end(span_key(self.span), forget=True)


def agent_kickoff(tel: Telemetry) -> StartHook:
    """``Agent.kickoff`` / ``kickoff_async``: one ``invoke_agent`` span per standalone run."""

    def start(agent: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> AgentSpan | None:
        active = _ACTIVE.get()
        if id(agent) in active:
            return None
        role = A.agent_role(agent) or "agent"
        KNOWN_SECRETS.add_agent(agent)  # scrubbed from its messages on: before its LLM call
        info = RUN_INFO.get()
        attrs = info.attributes()
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
            tel.content(span, {A.INPUT_MESSAGES: C.input_messages(tel.capture, messages)})
        run_id, root_id = stamp_run(span, A.RUN_AGENT, info)
        child = RunInfo(crew=info.crew, agent=role, run_id=run_id, root_id=root_id)
        return AgentSpan(tel, span, child, active | {id(agent)})

    return start
