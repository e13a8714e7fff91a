"""Metric instruments recorded by the wrappers: GenAI client metrics, agent and tool counts.

GenAI names, units and bucket boundaries follow the semantic conventions (and
``opentelemetry-util-genai``'s ``_instruments.py``, whose boundaries are copied here because
that module is private). Agent, task and tool executions have no semconv metrics yet, so
they are ``crewscope.*``; their status values are ``success`` / ``error`` so a success
rate per agent is ``executions{status=success} / executions``.

Recording never raises into the user's code: these methods are called from the span
handles' hooks (``_spans.SpanHandle``), which log and swallow crewscope's own failures.
With a no-op ``MeterProvider`` no ``Instruments`` object is made at all (``create``
returns None).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from opentelemetry.context import Context
from opentelemetry.metrics import Counter, Histogram, Meter, NoOpMeter
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics
from opentelemetry.trace import Span, set_span_in_context
from opentelemetry.util.types import AttributeValue

from crewscope.instrumentation import _attributes as A

TOKEN_TYPE: Final = "gen_ai.token.type"
"""Attribute of ``gen_ai.client.token.usage``: ``input`` or ``output``."""
STATUS: Final = "crewscope.execution.status"
"""``success`` or ``error``, on the execution counters and duration histogram."""
STATUS_SUCCESS: Final = "success"
STATUS_ERROR: Final = "error"

AGENT_EXECUTIONS: Final = "crewscope.agent.executions"
AGENT_EXECUTION_DURATION: Final = "crewscope.agent.execution.duration"
AGENT_ERRORS: Final = "crewscope.agent.errors"
TOOL_CALLS: Final = "crewscope.tool.calls"
TOOL_ERRORS: Final = "crewscope.tool.errors"

# opentelemetry/util/genai/_instruments.py (semconv "explicit bucket boundaries").
OPERATION_DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_USAGE_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
# Same as util-genai's gen_ai.invoke_agent.duration: a task run takes seconds to minutes.
AGENT_DURATION_BUCKETS: Final = (
    0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6,
)  # fmt: skip

# Unit and description of each instrument, by name.
_UNIT_AND_DESCRIPTION: Final[dict[str, tuple[str, str]]] = {
    gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE: (
        "{token}",
        "Number of input and output tokens used by GenAI clients",
    ),
    gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION: ("s", "Duration of GenAI client operation"),
    AGENT_EXECUTIONS: ("{execution}", "Task executions by an agent, by status"),
    AGENT_EXECUTION_DURATION: ("s", "Duration of a task execution by an agent"),
    AGENT_ERRORS: ("{error}", "Failed task executions by agent and error type"),
    TOOL_CALLS: ("{call}", "Tool calls requested by agents, by status"),
    TOOL_ERRORS: ("{error}", "Tool calls whose (last) execution raised, by tool and error type"),
}

# Span attributes copied onto the GenAI client metrics (low cardinality by construction).
_CHAT_KEYS = (A.OPERATION, A.PROVIDER, A.REQUEST_MODEL, A.AGENT_NAME, A.CREW_NAME)
_AGENT_KEYS = (A.AGENT_NAME, A.TASK_NAME, A.CREW_NAME)
_TOOL_KEYS = (A.TOOL_NAME, A.AGENT_NAME, A.CREW_NAME)


def _pick(attrs: Mapping[str, AttributeValue], keys: tuple[str, ...]) -> dict[str, AttributeValue]:
    return {k: attrs[k] for k in keys if attrs.get(k) is not None}


class Instruments:
    """The instruments of one instrumentor, and one method per thing the wrappers measure."""

    def __init__(self, meter: Meter) -> None:
        def histogram(name: str, buckets: tuple[float, ...]) -> Histogram:
            unit, description = _UNIT_AND_DESCRIPTION[name]
            return meter.create_histogram(
                name, unit, description, explicit_bucket_boundaries_advisory=list(buckets)
            )

        def counter(name: str) -> Counter:
            return meter.create_counter(name, *_UNIT_AND_DESCRIPTION[name])

        self.token_usage = histogram(gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE, TOKEN_USAGE_BUCKETS)
        self.operation_duration = histogram(
            gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION, OPERATION_DURATION_BUCKETS
        )
        self.agent_executions = counter(AGENT_EXECUTIONS)
        self.agent_duration = histogram(AGENT_EXECUTION_DURATION, AGENT_DURATION_BUCKETS)
        self.agent_errors = counter(AGENT_ERRORS)
        self.tool_calls = counter(TOOL_CALLS)
        self.tool_errors = counter(TOOL_ERRORS)

    @classmethod
    def create(cls, meter: Meter) -> Instruments | None:
        """None for a no-op meter: the wrappers then skip all metric work."""
        if isinstance(meter, NoOpMeter):
            return None
        return cls(meter)

    def llm_call(
        self,
        span: Span,
        span_attrs: Mapping[str, AttributeValue],
        duration_s: float,
        tokens: tuple[int, int] | None,
        error: str | None,
    ) -> None:
        """One LLM request: its duration, and its tokens when the provider reported usage."""
        attrs = _pick(span_attrs, _CHAT_KEYS)
        ctx = _context(span)
        if tokens is not None:
            self.token_usage.record(tokens[0], {**attrs, TOKEN_TYPE: "input"}, ctx)
            self.token_usage.record(tokens[1], {**attrs, TOKEN_TYPE: "output"}, ctx)
        if error is not None:
            attrs[A.ERROR_TYPE] = error
        self.operation_duration.record(duration_s, attrs, ctx)

    def agent_execution(
        self,
        span: Span,
        span_attrs: Mapping[str, AttributeValue],
        duration_s: float,
        error: str | None,
    ) -> None:
        """One task run by an agent (``invoke_agent``)."""
        attrs = _pick(span_attrs, _AGENT_KEYS)
        ctx = _context(span)
        status = {STATUS: STATUS_ERROR if error is not None else STATUS_SUCCESS}
        self.agent_executions.add(1, {**attrs, **status}, ctx)
        self.agent_duration.record(duration_s, {**attrs, **status}, ctx)
        if error is not None:
            self.agent_errors.add(1, {**attrs, A.ERROR_TYPE: error}, ctx)

    def tool_call(
        self, span: Span, span_attrs: Mapping[str, AttributeValue], error: str | None
    ) -> None:
        """One requested tool call (CrewAI's own retries of it are not separate calls)."""
        attrs = _pick(span_attrs, _TOOL_KEYS)
        ctx = _context(span)
        status = STATUS_ERROR if error is not None else STATUS_SUCCESS
        self.tool_calls.add(1, {**attrs, STATUS: status}, ctx)
        if error is not None:
            self.tool_errors.add(1, {**attrs, A.ERROR_TYPE: error}, ctx)


def _context(span: Span) -> Context:
    # Measurements are taken as the span ends, when it may no longer be current: pass it
    # explicitly so exemplars link the data point to this span (trace-based filter).
    return set_span_in_context(span)
