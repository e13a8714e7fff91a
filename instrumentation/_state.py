"""Per-run state that has to cross CrewAI's thread hops.

CrewAI copies ``contextvars`` into every thread it starts on the run path (see
CREWAI_PATCHPOINTS.md), so run-scoped state rides in context variables: the names of
the enclosing crew/task/agent, the token accumulators of the enclosing crew and task
spans, and the open tool span. Agent steps are different: a step begins in one
executor flow step and ends in another, and context set in one is gone in the next,
so open steps live in a registry keyed by the span that encloses the executor.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

from opentelemetry.trace import Span, get_current_span


@dataclass(frozen=True)
class RunInfo:
    """Names of the enclosing units, copied onto child spans."""

    crew: str | None = None
    task: str | None = None
    agent: str | None = None
    kickoff: str | None = None

    def with_(self, **changes: Any) -> RunInfo:
        return replace(self, **changes)

    def attributes(self) -> dict[str, str]:
        from crewscope.instrumentation import _attributes as A

        out = {}
        if self.crew:
            out[A.CREW_NAME] = self.crew
        if self.task:
            out[A.TASK_NAME] = self.task
        if self.agent:
            out[A.AGENT_NAME] = self.agent
        return out


@dataclass
class Totals:
    """Token and call counts summed from the chat spans beneath a crew or task span."""

    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_llm(self, input_tokens: int, output_tokens: int) -> None:
        with self.lock:
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
            self.llm_calls += 1

    def add_tool(self) -> None:
        with self.lock:
            self.tool_calls += 1


@dataclass
class ToolState:
    """The open tool span and what its executions did (a ReAct call may run the tool 6x)."""

    span: Span
    origin: Any = None
    failures: int = 0
    last_failed: bool = False
    error_type: str | None = None
    error_message: str | None = None
    last_exception: BaseException | None = None


@dataclass
class ChatUsage:
    """Usage reported by the provider during one LLM call (summed if reported twice)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    reported: bool = False


RUN_INFO: ContextVar[RunInfo] = ContextVar(
    "crewscope_run_info",
    default=RunInfo(),  # noqa: B039 - frozen dataclass, never mutated
)
TOTALS: ContextVar[tuple[Totals, ...]] = ContextVar("crewscope_totals", default=())
TOOL: ContextVar[ToolState | None] = ContextVar("crewscope_tool", default=None)
CHAT: ContextVar[ChatUsage | None] = ContextVar("crewscope_chat", default=None)
CREW_ACTIVE: ContextVar[frozenset[int]] = ContextVar("crewscope_crews", default=frozenset())
KICKOFF_KIND: ContextVar[str | None] = ContextVar("crewscope_kickoff_kind", default=None)


def span_key(span: Span | None = None) -> tuple[int, int]:
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
        self._steps: dict[tuple[int, int], _OpenStep] = {}

    def begin(self, key: tuple[int, int]) -> tuple[Span | None, int]:
        """Return (previous open step to end, next step index)."""
        with self._lock:
            entry = self._steps.setdefault(key, _OpenStep())
            previous, entry.span = entry.span, None
            entry.count += 1
            return previous, entry.count

    def set_open(self, key: tuple[int, int], span: Span) -> None:
        with self._lock:
            self._steps.setdefault(key, _OpenStep()).span = span

    def current(self, key: tuple[int, int]) -> Span | None:
        with self._lock:
            entry = self._steps.get(key)
            return entry.span if entry else None

    def close(self, key: tuple[int, int], forget: bool = False) -> Span | None:
        """Detach and return the open step for ``key``; ``forget`` also drops its counter."""
        with self._lock:
            entry = self._steps.pop(key, None) if forget else self._steps.get(key)
            if entry is None:
                return None
            span, entry.span = entry.span, None
            return span

    def __len__(self) -> int:
        with self._lock:
            return len(self._steps)


STEPS = StepRegistry()
