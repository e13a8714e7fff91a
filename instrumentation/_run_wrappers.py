"""Crew kickoff and task execution spans (flows: `_flow_wrappers`; what every run unit's
span does, its run ids and totals: `_run_spans`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import Token
from typing import Any

from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation import _content as C
from crewscope.instrumentation._run_spans import RunSpan, stamp_run
from crewscope.instrumentation._spans import (
    StartHook,
    Telemetry,
    Wrapper,
    error_type,
    reset_var,
    traced,
)
from crewscope.instrumentation._state import (
    ATTEMPT,
    ATTEMPTS,
    CREW_ACTIVE,
    DELEGATING,
    KICKOFF_KIND,
    RUN_INFO,
    STEPS,
    TOOL,
    Attempts,
    RunInfo,
    span_key,
)
from crewscope.instrumentation.redaction import KNOWN_SECRETS

logger = logging.getLogger(__name__)


class CrewSpan(RunSpan):
    """A crew kickoff: a run of its own, or a crew run nested in a flow run (or another
    crew's tool)."""

    __slots__ = ("_active", "_active_token", "_kind_token")

    def __init__(self, tel: Telemetry, span: Span, info: RunInfo, active: frozenset[int]) -> None:
        super().__init__(tel, span, info)
        self._active = active
        self._active_token: Token[frozenset[int]] | None = None
        self._kind_token: Token[str | None] | None = None

    def set_context(self) -> None:
        super().set_context()
        self._active_token = CREW_ACTIVE.set(self._active)
        self._kind_token = KICKOFF_KIND.set(None)

    def reset_context(self) -> None:
        reset_var(KICKOFF_KIND, self._kind_token)
        reset_var(CREW_ACTIVE, self._active_token)
        super().reset_context()


class TaskSpan(RunSpan):
    """A task run by its agent (``invoke_agent``), with the agent execution metrics."""

    __slots__ = ("_attrs", "_elapsed", "_error", "_started")

    def __init__(
        self, tel: Telemetry, span: Span, info: RunInfo, attrs: dict[str, AttributeValue]
    ) -> None:
        super().__init__(tel, span, info)
        self._attrs = attrs
        self._started = time.perf_counter()
        self._elapsed: float | None = None
        self._error: str | None = None
        self.attempts = Attempts(1 if self.first_attempt else 0)

    def _close(self, keep_open: bool, end_time: int | None = None) -> None:
        if self._elapsed is None:  # the call's duration, whatever ends the span later
            self._elapsed = time.perf_counter() - self._started
        super()._close(keep_open, end_time)

    def on_fail(self, exc: BaseException) -> None:
        self._error = error_type(exc)

    def on_exit(self) -> None:
        super().on_exit()
        if self.attempts is not None and self.attempts.count:
            self.span.set_attribute(A.TASK_ATTEMPTS, self.attempts.count)
        STEPS.end(span_key(self.span), forget=True)
        metrics = self._tel.metrics
        if metrics is not None:
            duration = self._elapsed or time.perf_counter() - self._started
            metrics.agent_execution(self.span, self._attrs, duration, self._error)


def crew_kickoff(tel: Telemetry, kind: str) -> StartHook:
    """``Crew.kickoff`` / ``Crew.akickoff``: one span per crew run."""

    def start(crew: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CrewSpan | None:
        if getattr(crew, "stream", False) is True:
            # A streaming kickoff returns at once; CrewAI runs the crew when the stream is
            # iterated, through the same method with ``stream`` off: that call is the run.
            return None
        active = CREW_ACTIVE.get()
        if id(crew) in active:  # a crew kicking itself off again
            return None
        inputs = args[0] if args else kwargs.get("inputs")
        KNOWN_SECRETS.add_crew(crew)  # scrubbed from the inputs on: before the first LLM call
        name = A.crew_name(crew)
        kickoff = KICKOFF_KIND.get() or kind
        process = getattr(crew, "process", None)
        attrs = A.clean(
            {
                A.OPERATION: A.OP_WORKFLOW,
                A.WORKFLOW_NAME: name,
                A.CREW_NAME: name,
                A.CREW_ID: str(getattr(crew, "id", "")) or None,
                A.CREW_PROCESS: getattr(process, "value", process),
                A.CREW_KICKOFF: kickoff,
                A.CREW_INPUT_KEYS: A.input_keys(inputs),
            }
        )
        span = tel.tracer.start_span(
            f"invoke_workflow {name}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        if tel.capture.enabled:
            tel.content(span, {A.CREW_INPUTS: C.crew_inputs(tel.capture, inputs)})
        run_id, root_id = stamp_run(span, A.RUN_CREW, RUN_INFO.get())
        info = RunInfo(crew=name, run_id=run_id, root_id=root_id)
        return CrewSpan(tel, span, info, active | {id(crew)})

    return start


def kickoff_marker(kind: str, *, is_async: bool = False) -> Wrapper:
    """``kickoff_async`` / ``kickoff_for_each`` (+ async variants) open no span of their own:
    they run ``Crew.kickoff`` on a thread or on crew copies, and each of those inner calls is
    a run of its own. The marker only tells those spans how the run was started."""

    if is_async:

        async def async_marker(
            wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            token = KICKOFF_KIND.set(KICKOFF_KIND.get() or kind)
            try:
                return await wrapped(*args, **kwargs)
            finally:
                KICKOFF_KIND.reset(token)

        return async_marker

    def marker(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        token = KICKOFF_KIND.set(KICKOFF_KIND.get() or kind)
        try:
            return wrapped(*args, **kwargs)
        finally:
            KICKOFF_KIND.reset(token)

    return marker


def _start_task_span(
    tel: Telemetry, task: Any, agent: Any, *, delegated: bool = False
) -> tuple[Span, RunInfo, RunInfo, dict[str, AttributeValue]]:
    """Open an ``invoke_agent`` span for ``agent`` running ``task`` in the current run;
    return (span, enclosing info, info for the spans beneath, attributes).

    Delegated work is named after the task it was delegated from: CrewAI's ad-hoc task is
    the manager LLM's free text, content that is recorded only with capture on."""
    role = A.agent_role(agent) or "agent"
    info = RUN_INFO.get()
    name = (info.task or "delegated work") if delegated else A.task_name(task)
    attrs = A.clean(
        {
            A.OPERATION: A.OP_AGENT,
            A.AGENT_NAME: role,
            A.AGENT_ID: str(getattr(agent, "id", "")) or None,
            A.TASK_NAME: name,
            A.TASK_ID: str(getattr(task, "id", "")) or None,
            A.CREW_NAME: info.crew,
        }
    )
    if info.run_id:
        attrs[A.RUN_ID] = info.run_id
        attrs[A.RUN_ROOT_ID] = info.root_id or info.run_id
    if delegated:
        attrs[A.DELEGATED] = True
    span = tel.tracer.start_span(f"invoke_agent {role}", kind=SpanKind.INTERNAL, attributes=attrs)
    child = RunInfo(crew=info.crew, task=name, agent=role, run_id=info.run_id, root_id=info.root_id)
    return span, info, child, attrs


def task_execution(tel: Telemetry) -> StartHook:
    """``Task._execute_core`` / ``_aexecute_core``: the task run by its agent (``invoke_agent``)."""

    def start(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TaskSpan:
        agent = (args[0] if args else kwargs.get("agent")) or getattr(task, "agent", None)
        span, _, child, attrs = _start_task_span(tel, task, agent)
        return TaskSpan(tel, span, child, attrs)

    return start


class DelegatedSpan(TaskSpan):
    """A coworker's delegated work: its own ``invoke_agent`` span under the delegation tool.

    Inside it the delegation is consumed (CrewAI's retry of ``execute_task`` is no new span)
    and no tool span is open: the coworker's own tool calls are its own.
    """

    __slots__ = ("_delegating_token", "_tool_token")

    first_attempt = 1  # the span is opened by the coworker's first ``execute_task``

    def __init__(
        self, tel: Telemetry, span: Span, info: RunInfo, attrs: dict[str, AttributeValue]
    ) -> None:
        super().__init__(tel, span, info, attrs)
        self._delegating_token: Token[bool] | None = None
        self._tool_token: Token[Any] | None = None

    def set_context(self) -> None:
        super().set_context()
        self._delegating_token = DELEGATING.set(False)
        self._tool_token = TOOL.set(None)

    def reset_context(self) -> None:
        reset_var(TOOL, self._tool_token)
        reset_var(DELEGATING, self._delegating_token)
        super().reset_context()


def delegated_execution(tel: Telemetry) -> StartHook:
    """``Agent.execute_task`` inside a delegation tool (``BaseAgentTool._execute`` builds an
    ad-hoc Task and calls the coworker directly, with no ``Task._execute_core``): the
    coworker's ``invoke_agent`` span, ``crewscope.delegated=true``. Elsewhere: no span (the
    task span is already open)."""

    def start(agent: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> DelegatedSpan | None:
        if not DELEGATING.get():
            return None
        task = args[0] if args else kwargs.get("task")
        span, _, child, attrs = _start_task_span(tel, task, agent, delegated=True)
        if tel.capture.enabled:
            tel.content(span, {A.DELEGATED_TASK: C.delegated_task(tel.capture, task)})
        return DelegatedSpan(tel, span, child, attrs)

    return start


def agent_execution(tel: Telemetry) -> Wrapper:
    """``Agent.execute_task``: delegated work (see ``delegated_execution``) opens a span;
    inside a task span each call is one agent execution of that task, numbered for its steps
    (``crewai.task.attempt``): CrewAI calls it again inside the same task for a guardrail
    retry and after an error, and those executions' steps are siblings of the first's."""
    delegated = traced(delegated_execution(tel))

    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if DELEGATING.get():
            return delegated(wrapped, instance, args, kwargs)
        token = _next_attempt()
        try:
            return wrapped(*args, **kwargs)
        finally:
            reset_var(ATTEMPT, token)

    return wrapper


def async_agent_execution(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``Agent.aexecute_task`` (``akickoff``'s tasks and their guardrail retries): as
    ``agent_execution``, without delegation (delegation tools call ``execute_task``)."""

    async def run() -> Any:
        token = _next_attempt()
        try:
            return await wrapped(*args, **kwargs)
        finally:
            reset_var(ATTEMPT, token)

    return run()


def _next_attempt() -> Token[int | None] | None:
    attempts = ATTEMPTS.get()
    if attempts is None:
        return None
    return ATTEMPT.set(attempts.next())


def delegation_marker(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``BaseAgentTool._execute`` (delegate work / ask a question): marks the coworker's
    ``Agent.execute_task`` call below it as delegated work."""
    token = DELEGATING.set(True)
    try:
        return wrapped(*args, **kwargs)
    finally:
        DELEGATING.reset(token)
