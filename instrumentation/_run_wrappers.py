"""Crew kickoff, task execution and user-flow spans."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry.trace import Span, SpanKind

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation._spans import Handle, Telemetry, error_type
from crewscope.instrumentation._state import (
    CREW_ACTIVE,
    KICKOFF_KIND,
    RUN_INFO,
    STEPS,
    TOTALS,
    Totals,
    span_key,
)


def _write_totals(span: Span, totals: Totals) -> None:
    span.set_attributes(
        {
            A.INPUT_TOKENS: totals.input_tokens,
            A.OUTPUT_TOKENS: totals.output_tokens,
            A.LLM_CALLS: totals.llm_calls,
            A.TOOL_CALLS: totals.tool_calls,
        }
    )


def _output_hook(tel: Telemetry) -> Any:
    def on_finish(span: Span, result: Any) -> None:
        if tel.capture.enabled and result is not None:
            tel.content(
                span, {A.OUTPUT_PREVIEW: A.truncate(A.to_text(result), tel.capture.max_length)}
            )

    return on_finish


def crew_kickoff(tel: Telemetry, kind: str) -> Any:
    """``Crew.kickoff`` / ``Crew.akickoff``: one span per run, the root of the run's trace."""

    def start(crew: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
        active = CREW_ACTIVE.get()
        if id(crew) in active:  # e.g. streaming kickoff re-entering itself
            return None
        inputs = args[0] if args else kwargs.get("inputs")
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
            tel.content(span, {A.CREW_INPUTS: A.small_inputs(inputs, tel.capture.max_length)})
        totals = Totals()
        return Handle(
            span,
            on_finish=_output_hook(tel),
            on_exit=lambda s: _write_totals(s, totals),
            context_vars=(
                (RUN_INFO, RUN_INFO.get().with_(crew=name, task=None, agent=None)),
                (TOTALS, (*TOTALS.get(), totals)),
                (CREW_ACTIVE, active | {id(crew)}),
                (KICKOFF_KIND, None),
            ),
            ok_status=True,
        )

    return start


def kickoff_marker(kind: str, *, is_async: bool = False) -> Any:
    """``kickoff_async`` / ``kickoff_for_each`` (+ async variants) open no span of their own:
    they run ``Crew.kickoff`` on a thread or on crew copies, and each of those inner calls is
    a run of its own. The marker only tells those spans how the run was started."""

    if is_async:

        async def async_marker(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            token = KICKOFF_KIND.set(KICKOFF_KIND.get() or kind)
            try:
                return await wrapped(*args, **kwargs)
            finally:
                KICKOFF_KIND.reset(token)

        return async_marker

    def marker(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        token = KICKOFF_KIND.set(KICKOFF_KIND.get() or kind)
        try:
            return wrapped(*args, **kwargs)
        finally:
            KICKOFF_KIND.reset(token)

    return marker


def task_execution(tel: Telemetry) -> Any:
    """``Task._execute_core`` / ``_aexecute_core``: the task run by its agent (``invoke_agent``)."""

    def start(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
        agent = (args[0] if args else kwargs.get("agent")) or getattr(task, "agent", None)
        role = A.agent_role(agent) or "agent"
        info = RUN_INFO.get()
        name = A.task_name(task)
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
        span = tel.tracer.start_span(
            f"invoke_agent {role}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        totals = Totals()
        started = time.perf_counter()
        failure: list[str] = []

        def on_fail(s: Span, exc: BaseException) -> None:
            failure.append(error_type(exc))

        def on_exit(s: Span) -> None:
            _write_totals(s, totals)
            step = STEPS.close(span_key(s), forget=True)
            if step is not None:
                step.end()
            if tel.metrics is not None:
                tel.metrics.agent_execution(
                    s, attrs, time.perf_counter() - started, failure[0] if failure else None
                )

        return Handle(
            span,
            on_finish=_output_hook(tel),
            on_fail=on_fail,
            on_exit=on_exit,
            context_vars=(
                (RUN_INFO, info.with_(task=name, agent=role)),
                (TOTALS, (*TOTALS.get(), totals)),
            ),
            ok_status=True,
        )

    return start


def _flow_name(flow: Any) -> str:
    name = getattr(flow, "name", None)
    return str(name) if name else type(flow).__name__


def _is_internal(flow: Any) -> bool:
    # AgentExecutor and memory flows are Flows too; they are not the user's workflow.
    return bool(getattr(type(flow), "is_crewai_internal", False))


def flow_kickoff(tel: Telemetry) -> Any:
    """``Flow.kickoff_async`` (every kickoff path ends there) for user flows."""

    def start(flow: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
        if _is_internal(flow):
            return None
        name = _flow_name(flow)
        inputs = args[0] if args else kwargs.get("inputs")
        attrs = A.clean(
            {
                A.OPERATION: A.OP_WORKFLOW,
                A.WORKFLOW_NAME: name,
                A.FLOW_NAME: name,
                A.CREW_INPUT_KEYS: A.input_keys(inputs),
            }
        )
        span = tel.tracer.start_span(
            f"invoke_workflow {name}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        totals = Totals()
        return Handle(
            span,
            on_finish=_output_hook(tel),
            on_exit=lambda s: _write_totals(s, totals),
            context_vars=((TOTALS, (*TOTALS.get(), totals)),),
            ok_status=True,
        )

    return start


def flow_method(tel: Telemetry) -> Any:
    """``Flow._execute_method``: one span per user-flow method."""

    def start(flow: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
        if _is_internal(flow):
            return None
        method = str(args[0] if args else kwargs.get("method_name", "method"))
        attrs = {A.FLOW_NAME: _flow_name(flow), A.FLOW_METHOD: method}
        span = tel.tracer.start_span(
            f"flow_method {method}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        return Handle(span)

    return start
