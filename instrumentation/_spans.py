"""The shared wrapper mechanics: start a span, run the wrapped call, finish or fail it.

Every patch point provides a ``start(instance, args, kwargs) -> Handle | None`` hook.
``traced`` turns it into a wrapt wrapper for sync or async callables. crewscope's own
failures (in hooks) are logged at debug level and never reach the user's code; the
user's exceptions are recorded on the span and re-raised unchanged.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, Status, StatusCode, set_span_in_context

from crewscope.instrumentation._attributes import ERROR_TYPE

logger = logging.getLogger(__name__)

StartHook = Callable[[Any, tuple[Any, ...], dict[str, Any]], "Handle | None"]


def error_type(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def mark_error(span: Span, exc: BaseException, *, record: bool = True) -> None:
    """ERROR status, ``error.type`` and (optionally) an ``exception`` event."""
    if record:
        span.record_exception(exc)
    span.set_attribute(ERROR_TYPE, error_type(exc))
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:1024]))


@dataclass
class Handle:
    """A started span plus what to do while the call runs and when it ends."""

    span: Span
    on_finish: Callable[[Span, Any], bool | None] | None = None
    """Called with the result; returning True keeps the span open (the hook owns it)."""
    on_fail: Callable[[Span, BaseException], bool | None] | None = None
    on_exit: Callable[[Span], None] | None = None
    """Called after finish or fail, before the span ends (totals, cleanup)."""
    context_vars: tuple[tuple[ContextVar[Any], Any], ...] = ()
    make_current: bool = True
    ok_status: bool = False

    @contextmanager
    def active(self) -> Iterator[None]:
        tokens = []
        ctx_token = None
        try:
            tokens = [(var, var.set(value)) for var, value in self.context_vars]
            if self.make_current:
                ctx_token = otel_context.attach(set_span_in_context(self.span))
        except Exception:  # noqa: BLE001 - never let our bookkeeping break the call
            logger.debug("crewscope: could not activate span", exc_info=True)
        try:
            yield
        finally:
            if ctx_token is not None:
                otel_context.detach(ctx_token)
            for var, token in reversed(tokens):
                try:
                    var.reset(token)
                except ValueError:  # reset from another context: harmless
                    pass

    def finish(self, result: Any) -> None:
        keep_open = False
        try:
            if self.on_finish is not None:
                keep_open = bool(self.on_finish(self.span, result))
            if self.ok_status:
                self.span.set_status(Status(StatusCode.OK))
        except Exception:  # noqa: BLE001
            logger.debug("crewscope: finish hook failed", exc_info=True)
        self._end(keep_open)

    def fail(self, exc: BaseException) -> None:
        keep_open = False
        try:
            if self.on_fail is not None:
                keep_open = bool(self.on_fail(self.span, exc))
            mark_error(self.span, exc)
        except Exception:  # noqa: BLE001
            logger.debug("crewscope: fail hook failed", exc_info=True)
        self._end(keep_open)

    def _end(self, keep_open: bool) -> None:
        try:
            if self.on_exit is not None:
                self.on_exit(self.span)
        except Exception:  # noqa: BLE001
            logger.debug("crewscope: exit hook failed", exc_info=True)
        if not keep_open:
            self.span.end()


def _safe_start(
    start: StartHook, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Handle | None:
    if not is_instrumentation_enabled():
        return None
    try:
        return start(instance, args, kwargs)
    except Exception:  # noqa: BLE001
        logger.debug("crewscope: could not start span", exc_info=True)
        return None


def traced(start: StartHook, *, is_async: bool = False) -> Callable[..., Any]:
    """Build a wrapt wrapper around ``start`` for a sync or async callable."""

    if is_async:

        async def async_wrapper(
            wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
        ) -> Any:
            handle = _safe_start(start, instance, args, kwargs)
            if handle is None:
                return await wrapped(*args, **kwargs)
            with handle.active():
                try:
                    result = await wrapped(*args, **kwargs)
                except BaseException as exc:
                    handle.fail(exc)
                    raise
            handle.finish(result)
            return result

        return async_wrapper

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        handle = _safe_start(start, instance, args, kwargs)
        if handle is None:
            return wrapped(*args, **kwargs)
        with handle.active():
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                handle.fail(exc)
                raise
        if inspect.isawaitable(result):
            # e.g. Agent.kickoff returns a coroutine when called inside a running loop
            return _finish_later(handle, result)
        handle.finish(result)
        return result

    return wrapper


async def _finish_later(handle: Handle, awaitable: Any) -> Any:
    with handle.active():
        try:
            result = await awaitable
        except BaseException as exc:
            handle.fail(exc)
            raise
    handle.finish(result)
    return result


def passthrough_wrapper(
    before: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any] | None = None,
    after: Callable[[Any, Any], None] | None = None,
    *,
    is_async: bool = False,
) -> Callable[..., Any]:
    """A wrapper that opens no span, only runs safe hooks around the call."""

    def run_before(instance: Any, args: Any, kwargs: Any) -> Any:
        if before is None:
            return None
        try:
            return before(instance, args, kwargs)
        except Exception:  # noqa: BLE001
            logger.debug("crewscope: hook failed", exc_info=True)
            return None

    def run_after(instance: Any, state: Any) -> None:
        if after is None:
            return
        try:
            after(instance, state)
        except Exception:  # noqa: BLE001
            logger.debug("crewscope: hook failed", exc_info=True)

    if is_async:

        async def async_wrapper(
            wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
        ) -> Any:
            state = run_before(instance, args, kwargs)
            try:
                return await wrapped(*args, **kwargs)
            finally:
                run_after(instance, state)

        return async_wrapper

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        state = run_before(instance, args, kwargs)
        try:
            return wrapped(*args, **kwargs)
        finally:
            run_after(instance, state)

    return wrapper


@dataclass(frozen=True)
class Telemetry:
    """What every hook needs: the tracer, the content-capture settings and the metrics."""

    tracer: Any
    capture: Any  # CaptureConfig
    metrics: Any = None  # _metrics.Instruments, or None when no MeterProvider records

    def content(self, span: Span, attrs: dict[str, Any]) -> None:
        """Record content attributes on the span and/or as an event, per the capture mode."""
        attrs = {k: v for k, v in attrs.items() if v is not None}
        if not attrs or not self.capture.enabled:
            return
        if self.capture.on_span:
            span.set_attributes(attrs)
        if self.capture.as_event:
            from crewscope.instrumentation._attributes import CONTENT_EVENT

            span.add_event(CONTENT_EVENT, attrs)
