"""Tool-call spans for CrewAI's two tool paths, plus memory spans.

Native function calling: ``AgentExecutor._execute_single_native_tool_call`` (one span per
requested call); the tool's exception surfaces in ``BaseTool.run`` before CrewAI swallows it.
ReAct: ``ToolUsage.use`` (one span per requested call, although CrewAI may run the tool up
to 6 times); each execution goes through ``CrewStructuredTool.invoke``, never ``BaseTool.run``.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation._spans import Handle, Telemetry, error_type, mark_error
from crewscope.instrumentation._state import RUN_INFO, STEPS, TOOL, TOTALS, ToolState, span_key


def _start_tool_span(
    tel: Telemetry, name: str, call_id: str | None, arguments: Any, origin: Any = None
) -> tuple[dict[str, Any], ToolState]:
    # Tool calls run in executor flow steps after the LLM turn that asked for them: parent
    # them to that turn's open step (keyed by the span enclosing the executor).
    step = STEPS.current(span_key())
    parent = set_span_in_context(step) if step is not None else None
    attrs = RUN_INFO.get().attributes()
    attrs.update(
        A.clean(
            {
                A.OPERATION: A.OP_TOOL,
                A.TOOL_NAME: name,
                A.TOOL_TYPE: "function",
                A.TOOL_CALL_ID: call_id,
            }
        )
    )
    span = tel.tracer.start_span(
        f"execute_tool {name}", context=parent, kind=SpanKind.INTERNAL, attributes=attrs
    )
    if tel.capture.enabled and arguments is not None:
        text = arguments if isinstance(arguments, str) else json.dumps(arguments, default=str)
        tel.content(span, {A.TOOL_ARGUMENTS: A.truncate(text, tel.capture.max_length)})
    return attrs, ToolState(span, origin=origin)


def _tool_handle(tel: Telemetry, state: ToolState, result_of: Any, attrs: dict[str, Any]) -> Handle:
    errors: list[str] = []  # the error.type of a failed call, for the metrics

    def on_finish(span: Span, result: Any) -> None:
        failure, from_cache, value = result_of(result)
        if from_cache is not None:
            span.set_attribute(A.TOOL_FROM_CACHE, bool(from_cache))
        if state.last_failed or failure:
            errors.append(state.error_type or str(failure or "tool_error"))
            if not state.error_type:
                span.set_attribute(A.ERROR_TYPE, str(failure or "tool_error"))
            message = state.error_message or str(failure or "tool failed")
            span.set_status(Status(StatusCode.ERROR, message[:1024]))
        if tel.capture.enabled and value is not None:
            tel.content(span, {A.TOOL_RESULT: A.truncate(A.to_text(value), tel.capture.max_length)})

    def on_fail(span: Span, exc: BaseException) -> None:
        errors.append(error_type(exc))

    def on_exit(span: Span) -> None:
        for totals in TOTALS.get():
            totals.add_tool()
        if tel.metrics is not None:
            tel.metrics.tool_call(span, attrs, errors[0] if errors else None)
        # a delegated agent may have run (and opened steps) inside this tool span
        leftover = STEPS.close(span_key(span), forget=True)
        if leftover is not None:
            leftover.end()

    return Handle(
        state.span,
        on_finish=on_finish,
        on_fail=on_fail,
        on_exit=on_exit,
        context_vars=((TOOL, state),),
    )


def _native_result(result: Any) -> tuple[Any, Any, Any]:
    if not isinstance(result, dict):
        return None, None, result
    failure = result.get("tool_failure")
    kind = getattr(failure, "error_type", None) or getattr(failure, "kind", None)
    return (
        (str(kind or "tool_failure") if failure else None),
        result.get("from_cache"),
        result.get("result"),
    )


def native_tool_call(tel: Telemetry) -> Any:
    """``AgentExecutor._execute_single_native_tool_call(tool_call)``."""
    from crewai.utilities.agent_utils import extract_tool_call_info

    def start(executor: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
        tool_call = args[0] if args else kwargs.get("tool_call")
        info = extract_tool_call_info(tool_call)
        if not info:
            return None
        call_id, name, arguments = info
        attrs, state = _start_tool_span(
            tel, str(name), str(call_id) if call_id else None, arguments
        )
        return _tool_handle(tel, state, _native_result, attrs)

    return start


def react_tool_call(tel: Telemetry) -> Any:
    """``ToolUsage.use(calling, tool_string)``; CrewAI retries by calling ``use`` again."""

    def start(usage: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
        current = TOOL.get()
        if current is not None and current.origin is usage:
            return None  # CrewAI's own retry of the same requested call
        calling = args[0] if args else kwargs.get("calling")
        name = getattr(calling, "tool_name", None)
        if not name:
            return None  # a parse error, not a tool call
        attrs, state = _start_tool_span(
            tel, str(name), None, getattr(calling, "arguments", None), origin=usage
        )
        return _tool_handle(tel, state, lambda r: (None, None, r), attrs)

    return start


def direct_tool_run(tel: Telemetry) -> Any:
    """``BaseTool.run`` / ``Tool.run`` outside the two executor paths (planning, delegation,
    a user calling a tool): a tool span of its own. Inside them: no new span."""

    def start(tool: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
        if TOOL.get() is not None:
            return None
        name = str(getattr(tool, "name", None) or type(tool).__name__)
        attrs, state = _start_tool_span(tel, name, None, kwargs or list(args) or None)
        return _tool_handle(tel, state, lambda r: (None, None, r), attrs)

    return start


def record_execution(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Wrapper for one tool execution (``BaseTool.run`` under a tool span, or
    ``CrewStructuredTool.invoke``): put its exception on the open tool span, then re-raise."""
    state = TOOL.get()
    if state is None:
        return wrapped(*args, **kwargs)
    try:
        result = wrapped(*args, **kwargs)
    except Exception as exc:
        if state.last_exception is not exc:
            try:
                state.last_exception = exc
                state.failures += 1
                state.last_failed = True
                state.error_type = error_type(exc)
                state.error_message = f"{type(exc).__name__}: {exc}"
                mark_error(state.span, exc)
            except Exception:  # noqa: BLE001
                pass
        raise
    state.last_failed = False
    return result


def memory_operation(tel: Telemetry, operation: str) -> Any:
    """``Memory.remember`` / ``remember_many`` (save) and ``recall`` (query)."""

    def start(memory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle | None:
        attrs = RUN_INFO.get().attributes()
        attrs[A.MEMORY_OPERATION] = operation
        span = tel.tracer.start_span(
            f"memory {operation}", kind=SpanKind.INTERNAL, attributes=attrs
        )

        def on_finish(s: Span, result: Any) -> None:
            if operation == "query" and isinstance(result, (list, tuple)):
                s.set_attribute(A.MEMORY_RESULTS, len(result))

        return Handle(span, on_finish=on_finish)

    return start
