"""Tool-call spans for CrewAI's two tool paths, plus memory spans.

Native function calling: ``AgentExecutor._execute_single_native_tool_call`` (one span per
requested call); the tool's exception surfaces in ``BaseTool.run`` before CrewAI swallows it.
ReAct: ``ToolUsage.use`` (one span per requested call, although CrewAI may run the tool up
to 6 times); each execution goes through ``CrewStructuredTool.invoke``, never ``BaseTool.run``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import Token
from typing import Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context
from opentelemetry.util.types import AttributeValue

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation import _content as C
from crewscope.instrumentation._spans import (
    SpanHandle,
    StartHook,
    Telemetry,
    describe,
    error_type,
    mark_error,
    reset_var,
)
from crewscope.instrumentation._state import RUN_INFO, STEPS, TOOL, TOTALS, span_key
from crewscope.instrumentation.redaction import scrub_secrets

logger = logging.getLogger(__name__)


class ToolSpan(SpanHandle):
    """A requested tool call, and what its executions did (a ReAct call may run the tool
    6 times); ``record_execution`` updates the open one (``TOOL``)."""

    __slots__ = (
        "_attrs",
        "_metric_error",
        "_tel",
        "_tool_token",
        "error_message",
        "error_type",
        "last_exception",
        "last_failed",
        "origin",
    )

    def __init__(
        self, tel: Telemetry, span: Span, attrs: dict[str, AttributeValue], origin: object
    ) -> None:
        super().__init__(span)
        self._tel = tel
        self._attrs = attrs
        self.origin = origin  # the ToolUsage of a ReAct call: its retries are not new calls
        self.last_failed = False
        self.error_type: str | None = None
        self.error_message: str | None = None
        self.last_exception: BaseException | None = None
        self._metric_error: str | None = None  # the error.type of a failed call
        self._tool_token: Token[ToolSpan | None] | None = None

    def set_context(self) -> None:
        self._tool_token = TOOL.set(self)

    def reset_context(self) -> None:
        reset_var(TOOL, self._tool_token)

    def outcome(self, result: Any) -> tuple[str | None, Any, Any]:
        """(failure, from_cache, value) of the call's return value."""
        return None, None, result

    def on_finish(self, result: Any) -> bool:
        span = self.span
        failure, from_cache, value = self.outcome(result)
        if from_cache is not None:
            span.set_attribute(A.TOOL_FROM_CACHE, bool(from_cache))
        if self.last_failed or failure:
            self._metric_error = self.error_type or str(failure or "tool_error")
            if not self.error_type:
                span.set_attribute(A.ERROR_TYPE, str(failure or "tool_error"))
            message = self.error_message or str(failure or "tool failed")
            span.set_status(Status(StatusCode.ERROR, scrub_secrets(message)[:1024]))
        capture = self._tel.capture
        if capture.enabled and value is not None:
            self._tel.content(span, {A.TOOL_RESULT: C.tool_result(capture, value)})
        return False

    def on_fail(self, exc: BaseException) -> None:
        self._metric_error = error_type(exc)

    def on_exit(self) -> None:
        for totals in TOTALS.get():
            totals.add_tool()
        metrics = self._tel.metrics
        if metrics is not None:
            metrics.tool_call(self.span, self._attrs, self._metric_error)
        # a delegated agent may have run (and opened steps) inside this tool span
        STEPS.end(span_key(self.span), forget=True)


class NativeToolSpan(ToolSpan):
    """A native function call: CrewAI returns a result dict and swallows the tool's error."""

    __slots__ = ()

    def outcome(self, result: Any) -> tuple[str | None, Any, Any]:
        if not isinstance(result, dict):
            return None, None, result
        failure = result.get("tool_failure")
        kind = getattr(failure, "error_type", None) or getattr(failure, "kind", None)
        return (
            (str(kind or "tool_failure") if failure else None),
            result.get("from_cache"),
            result.get("result"),
        )


def _start_tool_span(
    tel: Telemetry,
    cls: type[ToolSpan],
    name: str,
    call_id: str | None,
    arguments: Any,
    origin: object = None,
) -> ToolSpan:
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
        tel.content(span, {A.TOOL_ARGUMENTS: C.tool_arguments(tel.capture, arguments)})
    return cls(tel, span, attrs, origin)


def _no_span(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    return None


def native_tool_call(tel: Telemetry) -> StartHook:
    """``AgentExecutor._execute_single_native_tool_call(tool_call)``."""
    try:
        from crewai.utilities.agent_utils import extract_tool_call_info
    except ImportError:  # moved in another CrewAI: no native tool spans, but no crash either
        logger.warning(
            "crewscope: CrewAI has no crewai.utilities.agent_utils:extract_tool_call_info; "
            "native tool calls are not traced",
            exc_info=True,
        )
        return _no_span

    def start(executor: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ToolSpan | None:
        tool_call = args[0] if args else kwargs.get("tool_call")
        info = extract_tool_call_info(tool_call)
        if not info:
            return None
        call_id, name, arguments = info
        return _start_tool_span(
            tel, NativeToolSpan, str(name), str(call_id) if call_id else None, arguments
        )

    return start


def react_tool_call(tel: Telemetry) -> StartHook:
    """``ToolUsage.use(calling, tool_string)``; CrewAI retries by calling ``use`` again."""

    def start(usage: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ToolSpan | None:
        current = TOOL.get()
        if current is not None and current.origin is usage:
            return None  # CrewAI's own retry of the same requested call
        calling = args[0] if args else kwargs.get("calling")
        name = getattr(calling, "tool_name", None)
        if not name:
            return None  # a parse error, not a tool call
        arguments = getattr(calling, "arguments", None)
        return _start_tool_span(tel, ToolSpan, str(name), None, arguments, origin=usage)

    return start


def direct_tool_run(tel: Telemetry) -> StartHook:
    """``BaseTool.run`` / ``Tool.run`` outside the two executor paths (planning, delegation,
    a user calling a tool): a tool span of its own. Inside them: no new span."""

    def start(tool: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ToolSpan | None:
        if TOOL.get() is not None:
            return None
        name = str(getattr(tool, "name", None) or type(tool).__name__)
        return _start_tool_span(tel, ToolSpan, name, None, kwargs or list(args) or None)

    return start


def record_execution(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Wrapper for one tool execution (``BaseTool.run`` under a tool span, or
    ``CrewStructuredTool.invoke``): put its exception on the open tool span, then re-raise."""
    tool = TOOL.get()
    if tool is None:
        return wrapped(*args, **kwargs)
    try:
        result = wrapped(*args, **kwargs)
    except Exception as exc:
        if tool.last_exception is not exc:
            try:
                tool.last_exception = exc
                tool.last_failed = True
                tool.error_type = error_type(exc)
                tool.error_message = describe(exc)
                mark_error(tool.span, exc)
            except Exception:  # the tool's own exception is what must reach CrewAI
                logger.debug("crewscope: could not record the tool error", exc_info=True)
        raise
    tool.last_failed = False
    return result


class MemoryQuerySpan(SpanHandle):
    """A memory query, with the number of results it found."""

    __slots__ = ()

    def on_finish(self, result: Any) -> bool:
        if isinstance(result, (list, tuple)):
            self.span.set_attribute(A.MEMORY_RESULTS, len(result))
        return False


def memory_operation(tel: Telemetry, operation: str) -> StartHook:
    """``Memory.remember`` / ``remember_many`` (save) and ``recall`` (query)."""
    handle = MemoryQuerySpan if operation == "query" else SpanHandle

    def start(memory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanHandle:
        attrs = RUN_INFO.get().attributes()
        attrs[A.MEMORY_OPERATION] = operation
        span = tel.tracer.start_span(
            f"memory {operation}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        return handle(span)

    return start
