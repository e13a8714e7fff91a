"""The shared wrapper mechanics: one typed handle per started span, and the wrapt wrappers.

Every patch point provides a start hook ``start(instance, args, kwargs) -> SpanHandle | None``
that opens the span and returns the handle of its kind (a ``SpanHandle`` subclass holding
that span's per-call state). ``traced`` turns the hook into a wrapt wrapper for sync or
async callables and drives the handle: ``enter`` / ``exit`` around the call (context
variables, current span), then ``fail`` or ``finish``. crewscope's own failures are logged
at debug level and never reach the user's code; the user's exceptions are recorded on the
span and re-raised unchanged.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.semconv.attributes.exception_attributes import (
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
)
from opentelemetry.trace import Span, Status, StatusCode, Tracer, set_span_in_context
from opentelemetry.util.types import AttributeValue

from crewscope.instrumentation._attributes import ERROR_TYPE
from crewscope.instrumentation._config import CaptureConfig
from crewscope.instrumentation.redaction import scrub_secrets

if TYPE_CHECKING:
    from crewscope.instrumentation._events import InferenceEvents
    from crewscope.instrumentation._metrics import Instruments

logger = logging.getLogger(__name__)

T = TypeVar("T")

Args = tuple[Any, ...]
Kwargs = dict[str, Any]
"""The positional and keyword arguments of a patched call, as wrapt hands them on."""
StartHook = Callable[[Any, Args, Kwargs], "SpanHandle | None"]
"""Opens the span for one call of a patched method (instance, args, kwargs: CrewAI's)."""
Wrapper = Callable[[Callable[..., Any], Any, Args, Kwargs], Any]
"""A wrapt wrapper: ``(wrapped, instance, args, kwargs) -> result``."""

_OK = Status(StatusCode.OK)


def error_type(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def describe(exc: BaseException) -> str:
    """``Type: message``, or just ``Type`` when the message cannot be rendered."""
    name = type(exc).__name__
    try:
        return f"{name}: {exc}"
    except Exception:  # the app's __str__ raised: the type still says what failed
        logger.debug("crewscope: cannot render the message of %s", name, exc_info=True)
        return name


def mark_error(span: Span, exc: BaseException) -> None:
    """ERROR status and ``error.type`` first, then an ``exception`` event (which renders
    the message and traceback, and may fail on an odd exception). The message and the
    traceback go through the secret scrubber: an auth error may quote a credential."""
    span.set_status(Status(StatusCode.ERROR, scrub_secrets(describe(exc))[:1024]))
    span.set_attribute(ERROR_TYPE, error_type(exc))
    span.record_exception(exc, attributes=_exception_texts(exc))


def _exception_texts(exc: BaseException) -> dict[str, AttributeValue]:
    """The ``exception`` event's message and stacktrace as the SDK renders them, scrubbed."""
    stacktrace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {
        EXCEPTION_MESSAGE: scrub_secrets(str(exc)),
        EXCEPTION_STACKTRACE: scrub_secrets(stacktrace),
    }


def reset_var(var: ContextVar[T], token: Token[T] | None) -> None:
    """Undo ``var.set``; a reset from another context (harmless) is ignored."""
    if token is not None:
        try:
            var.reset(token)
        except ValueError:
            pass


class SpanHandle:
    """A started span and what happens to it while the call runs and when it ends.

    Subclasses (one per span kind) hold that span's state and override the hooks below;
    the hooks run guarded, so a crewscope failure in one is logged and never raised.
    """

    __slots__ = ("_current", "span")

    ok_status: ClassVar[bool] = False
    """Set OK status when the call returns (the units of a run: crew, task, agent, flow)."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self._current: Token[otel_context.Context] | None = None

    # -- hooks for the span kinds -----------------------------------------------------

    def set_context(self) -> None:
        """Set this span's context variables while the call runs."""

    def reset_context(self) -> None:
        """Reset what ``set_context`` set."""

    def on_finish(self, result: Any) -> bool:
        """The call returned ``result``; True keeps the span open (the handle ends it later)."""
        return False

    def on_fail(self, exc: BaseException) -> None:
        """The call raised ``exc``."""

    def on_exit(self) -> None:
        """After finish or fail, before the span ends: totals, metrics, cleanup."""

    # -- driven by the wrappers ---------------------------------------------------------

    def enter(self) -> None:
        """Make the span current and set its context variables."""
        try:
            self.set_context()
            self._current = otel_context.attach(set_span_in_context(self.span))
        except Exception:  # bookkeeping must never break the user's call
            logger.debug("crewscope: could not activate span", exc_info=True)

    def exit(self) -> None:
        token, self._current = self._current, None
        if token is not None:
            otel_context.detach(token)
        self.reset_context()

    def finish(self, result: Any) -> None:
        keep_open = False
        try:
            keep_open = self.on_finish(result)
            if self.ok_status:
                self.span.set_status(_OK)
        except Exception:  # telemetry must never raise into the app
            logger.debug("crewscope: finish hook failed", exc_info=True)
        self._close(keep_open)

    def fail(self, exc: BaseException) -> None:
        # Guarded apart: whatever the hook does, the span is still marked as an error.
        try:
            self.on_fail(exc)
        except Exception:  # telemetry must never raise into the app
            logger.debug("crewscope: fail hook failed", exc_info=True)
        try:
            mark_error(self.span, exc)
        except Exception:  # telemetry must never raise into the app
            logger.debug("crewscope: could not record the failure", exc_info=True)
        self._close(False)

    def _close(self, keep_open: bool, end_time: int | None = None) -> None:
        try:
            self.on_exit()
        except Exception:  # telemetry must never raise into the app
            logger.debug("crewscope: exit hook failed", exc_info=True)
        if not keep_open:
            self.span.end(end_time=end_time)


def _safe_start(start: StartHook, instance: Any, args: Args, kwargs: Kwargs) -> SpanHandle | None:
    if not is_instrumentation_enabled():
        return None
    try:
        return start(instance, args, kwargs)
    except Exception:  # no span rather than a failing user call
        logger.debug("crewscope: could not start span", exc_info=True)
        return None


def traced(start: StartHook, *, is_async: bool = False) -> Wrapper:
    """Build a wrapt wrapper around ``start`` for a sync or async callable."""

    if is_async:

        async def async_wrapper(
            wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Args, kwargs: Kwargs
        ) -> Any:
            handle = _safe_start(start, instance, args, kwargs)
            if handle is None:
                return await wrapped(*args, **kwargs)
            return await _await_in_span(handle, lambda: wrapped(*args, **kwargs))

        return async_wrapper

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        handle = _safe_start(start, instance, args, kwargs)
        if handle is None:
            return wrapped(*args, **kwargs)
        handle.enter()
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            handle.fail(exc)
            raise
        finally:
            handle.exit()
        if inspect.isawaitable(result):
            # e.g. Agent.kickoff returns a coroutine when called inside a running loop
            return _await_in_span(handle, lambda: result)
        handle.finish(result)
        return result

    return wrapper


async def _await_in_span(handle: SpanHandle, call: Callable[[], Awaitable[Any]]) -> Any:
    """Await what `call` returns with `handle`'s span current; fail or finish the span."""
    handle.enter()
    try:
        result = await call()
    except BaseException as exc:
        handle.fail(exc)
        raise
    finally:
        handle.exit()
    handle.finish(result)
    return result


def passthrough_wrapper(
    before: Callable[[Any, Args, Kwargs], Any] | None = None,
    after: Callable[[Any, Any], None] | None = None,
    *,
    is_async: bool = False,
) -> Wrapper:
    """A wrapper that opens no span, only runs safe hooks around the call."""

    def run_before(instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if before is None:
            return None
        try:
            return before(instance, args, kwargs)
        except Exception:  # telemetry must never raise into the app
            logger.debug("crewscope: hook failed", exc_info=True)
            return None

    def run_after(instance: Any, state: Any) -> None:
        if after is None:
            return
        try:
            after(instance, state)
        except Exception:  # telemetry must never raise into the app
            logger.debug("crewscope: hook failed", exc_info=True)

    if is_async:

        async def async_wrapper(
            wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Args, kwargs: Kwargs
        ) -> Any:
            state = run_before(instance, args, kwargs)
            try:
                return await wrapped(*args, **kwargs)
            finally:
                run_after(instance, state)

        return async_wrapper

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        state = run_before(instance, args, kwargs)
        try:
            return wrapped(*args, **kwargs)
        finally:
            run_after(instance, state)

    return wrapper


@dataclass(frozen=True)
class Telemetry:
    """What every hook needs: the tracer, the content-capture settings, the metrics and the
    GenAI log events."""

    tracer: Tracer
    capture: CaptureConfig
    metrics: Instruments | None = None
    """None when no MeterProvider records: the hooks then skip all metric work."""
    events: InferenceEvents | None = None
    """The inference log events; None unless the capture mode asks for events."""

    def content(self, span: Span, attrs: dict[str, AttributeValue | None]) -> None:
        """Record content attributes on the span if the capture mode puts content on spans.

        There is no span-event copy: in ``EVENT_ONLY`` content leaves only as the LLM
        calls' log events (``_events.py``), so tool arguments/results, crew inputs and
        output previews, which have no GenAI event, are not recorded in that mode.
        """
        if not self.capture.on_span:
            return
        kept: dict[str, AttributeValue] = {k: v for k, v in attrs.items() if v is not None}
        if kept:
            span.set_attributes(kept)
