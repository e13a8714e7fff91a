"""GenAI log events: one ``gen_ai.client.inference.operation.details`` record per LLM call.

Emitted in the ``EVENT_ONLY`` and ``SPAN_AND_EVENT`` capture modes through the OpenTelemetry
logs API, in the chat span's context (the record carries its trace and span id). The
attributes are the semconv set: the call's operation, provider, request/response model,
token usage, ``error.type`` on failure and the messages, structured (a list of message
objects, not the JSON text of the span attributes) and cut to the same capture limit.
With no LoggerProvider configured the logger is a no-op and nothing is built.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opentelemetry._logs import Logger
from opentelemetry.trace import Span, set_span_in_context
from opentelemetry.util.types import AnyValue

from crewscope.instrumentation import _attributes as A

# The chat span's attributes the event repeats (the request side, known at span start).
_FROM_SPAN = (A.OPERATION, A.PROVIDER, A.REQUEST_MODEL)


class InferenceEvents:
    """Emits the inference event of each LLM call to one Logger."""

    __slots__ = ("_logger",)

    def __init__(self, logger: Logger) -> None:
        self._logger = logger

    def enabled(self) -> bool:
        """False when no LoggerProvider records (the no-op/proxy default): skip the work."""
        return self._logger.enabled(event_name=A.INFERENCE_EVENT)

    def emit(
        self,
        span: Span,
        span_attrs: Mapping[str, Any],
        *,
        response_model: str | None = None,
        tokens: tuple[int, int] | None = None,
        input_messages: list[dict[str, Any]] | None = None,
        output_messages: list[dict[str, Any]] | None = None,
        error: str | None = None,
    ) -> None:
        attrs: dict[str, AnyValue] = {
            key: span_attrs[key] for key in _FROM_SPAN if span_attrs.get(key) is not None
        }
        if response_model:
            attrs[A.RESPONSE_MODEL] = response_model
        if tokens is not None:
            attrs[A.INPUT_TOKENS], attrs[A.OUTPUT_TOKENS] = tokens
        if input_messages is not None:
            attrs[A.INPUT_MESSAGES] = input_messages
        if output_messages is not None:
            attrs[A.OUTPUT_MESSAGES] = output_messages
        if error is not None:
            attrs[A.ERROR_TYPE] = error
        self._logger.emit(
            timestamp=time.time_ns(),
            context=set_span_in_context(span),
            event_name=A.INFERENCE_EVENT,
            attributes=attrs,
        )
