"""Per-run state that has to cross CrewAI's thread hops.

CrewAI copies ``contextvars`` into every thread it starts on the run path (see
CREWAI_PATCHPOINTS.md), so run-scoped state rides in context variables: the names of
the enclosing crew/task/agent and the ids of the enclosing runs, the token accumulators
of the enclosing crew and task spans, the open tool span and the open LLM call. Agent
steps are different: a step begins in one executor flow step and ends in another, and
context set in one is gone in the next, so open steps live in a registry keyed by the
span that encloses the executor.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span, get_current_span
from opentelemetry.util.types import AttributeValue

from crewscope.instrumentation import _attributes as A

if TYPE_CHECKING:
    from crewscope.instrumentation._llm_wrappers import ChatSpan
    from crewscope.instrumentation._tool_wrappers import ToolSpan

SpanKey = tuple[int, int]
"""(trace id, span id) of a span."""


@dataclass(frozen=True)
class RunInfo:
    """Names of the enclosing units and the ids of the enclosing runs, copied onto child
    spans: one context-variable lookup per span start gives both."""

    crew: str | None = None
    task: str | None = None
    agent: str | None = None
    run_id: str | None = None
    """Span id (hex) of the nearest enclosing run span (flow, crew or standalone agent)."""
    root_id: str | None = None
    """Span id (hex) of the top-level run the enclosing run belongs to."""
    flow_method: str | None = None
    """The user-flow method running, when the nearest enclosing unit is a flow method."""

    def attributes(self) -> dict[str, AttributeValue]:
        out: dict[str, AttributeValue] = {}
        if self.crew:
            out[A.CREW_NAME] = self.crew
        if self.task:
            out[A.TASK_NAME] = self.task
        if self.agent:
            out[A.AGENT_NAME] = self.agent
        if self.run_id:
            out[A.RUN_ID] = self.run_id
            out[A.RUN_ROOT_ID] = self.root_id or self.run_id
        return out


@dataclass
class Totals:
    """Token and call counts summed from the chat spans beneath a crew or task span."""

    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    pending: list[Future[Any]] = field(default_factory=list, repr=False)

    def add_llm(self, input_tokens: int, output_tokens: int) -> None:
        with self.lock:
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
            self.llm_calls += 1

    def add_tool(self) -> None:
        with self.lock:
            self.tool_calls += 1

    def defer(self, work: Future[Any]) -> None:
        """Background work started beneath the span (a memory save) whose LLM calls count in
        these totals although they may end after the span's call returned."""
        with self.lock:
            self.pending = [f for f in self.pending if not f.done()]
            self.pending.append(work)

    def take_pending(self) -> list[Future[Any]]:
        """The deferred work not done yet (and forget the rest)."""
        with self.lock:
            pending, self.pending = [f for f in self.pending if not f.done()], []
        return pending


class Attempts:
    """The agent executions of one task span: CrewAI runs ``Agent.execute_task`` again inside
    the same task for a guardrail retry (``Task._invoke_guardrail_function``) and after an
    error (``Agent._handle_execution_error``)."""

    __slots__ = ("_lock", "count")

    def __init__(self, count: int = 0) -> None:
        self.count = count
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self.count += 1
            return self.count


RUN_INFO: ContextVar[RunInfo] = ContextVar(
    "crewscope_run_info",
    default=RunInfo(),  # noqa: B039 - frozen dataclass, never mutated
)
TOTALS: ContextVar[tuple[Totals, ...]] = ContextVar("crewscope_totals", default=())
TOOL: ContextVar[ToolSpan | None] = ContextVar("crewscope_tool", default=None)
CHAT: ContextVar[ChatSpan | None] = ContextVar("crewscope_chat", default=None)
CREW_ACTIVE: ContextVar[frozenset[int]] = ContextVar("crewscope_crews", default=frozenset())
KICKOFF_KIND: ContextVar[str | None] = ContextVar("crewscope_kickoff_kind", default=None)
ATTEMPTS: ContextVar[Attempts | None] = ContextVar("crewscope_attempts", default=None)
"""The agent executions of the innermost open task span (None outside one, and inside a
run nested in a task: a crew or agent kicked off by a tool)."""
ATTEMPT: ContextVar[int | None] = ContextVar("crewscope_attempt", default=None)
"""Which agent execution of its task is running (1-based), for the steps beneath it."""
DELEGATING: ContextVar[bool] = ContextVar("crewscope_delegating", default=False)
"""True inside a delegation tool (``BaseAgentTool._execute``) until the coworker's
``Agent.execute_task`` opens its own ``invoke_agent`` span."""


def span_key(span: Span | None = None) -> SpanKey:
    """Identity of a span (trace id, span id); (0, 0) when there is none."""
    ctx = (span or get_current_span()).get_span_context()
    return (ctx.trace_id, ctx.span_id)


@dataclass
class _OpenStep:
    span: Span | None = None
    count: int = 0


class StepRegistry:
    """Open agent-step spans, keyed by the span that encloses the agent executor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps: dict[SpanKey, _OpenStep] = {}

    def begin(self, key: SpanKey) -> tuple[Span | None, int]:
        """Return (previous open step to end, next step index)."""
        with self._lock:
            entry = self._steps.setdefault(key, _OpenStep())
            previous, entry.span = entry.span, None
            entry.count += 1
            return previous, entry.count

    def set_open(self, key: SpanKey, span: Span) -> None:
        with self._lock:
            self._steps.setdefault(key, _OpenStep()).span = span

    def current(self, key: SpanKey) -> Span | None:
        with self._lock:
            entry = self._steps.get(key)
            return entry.span if entry else None

    def close(self, key: SpanKey, forget: bool = False) -> Span | None:
        """Detach and return the open step for ``key``; ``forget`` also drops its counter."""
        with self._lock:
            entry = self._steps.pop(key, None) if forget else self._steps.get(key)
            if entry is None:
                return None
            span, entry.span = entry.span, None
            return span

    def end(self, key: SpanKey, forget: bool = False) -> None:
        """End the open step for ``key``, if any (see ``close``)."""
        span = self.close(key, forget)
        if span is not None:
            span.end()


STEPS = StepRegistry()
