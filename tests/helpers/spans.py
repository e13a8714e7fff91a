"""Crew runs as OpenTelemetry SDK spans, landed through the exporter's own row conversion.

`build_run` makes the spans of one crew kickoff (crew, tasks, agent steps, chat and tool
calls, memory operations) at explicit times, as `ReadableSpan`s with the names and
attributes crewscope's instrumentation gives them (SPANS.md). `insert_spans` converts them
with `span_exporter.spans_to_table`, the in-process exporter's conversion, and appends the
Arrow table, so the typed columns (GenAiOperation, AgentName, InputTokens, CostUsd, ...)
come from the one producer of the storage format. `RunBuilder.rows` are the same rows.

Prices: each LLM call costs what its `TaskSpec.cost` says (None: unpriced). The price of a
call is an input of the conversion, like ``CREWSCOPE_PRICES_FILE``: calls are converted
under a price book that charges that amount per request (`ModelRate.fixed`).
"""

from __future__ import annotations

import json
import random
import threading
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from crewscope.exporter import pricing
from crewscope.exporter.span_exporter import spans_to_table
from crewscope.exporter.store import INSERT_BY_NAME, SpanStore
from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation.version import __version__

SERVICE = "crew-app"
RESOURCE = Resource.create({"service.name": SERVICE})
SCOPE = InstrumentationScope("crewscope.instrumentation", __version__)
HTTP_SCOPE = InstrumentationScope("opentelemetry.instrumentation.fastapi")
_EPOCH = datetime(1970, 1, 1)


def ns(t: datetime) -> int:
    """A naive UTC datetime as Unix nanoseconds (exact: integer arithmetic)."""
    return (t - _EPOCH) // timedelta(microseconds=1) * 1000


def trace_hex(span: ReadableSpan) -> str:
    """The span's TraceId as stored (32 lowercase hex digits)."""
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def with_span_id(span: ReadableSpan, span_id: int) -> ReadableSpan:
    """A copy of `span` under another SpanId (same trace, parent, times, attributes)."""
    assert span.context is not None
    copy = ReadableSpan(
        name=span.name,
        context=SpanContext(span.context.trace_id, span_id, False, span.context.trace_flags),
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
    if span in _CALL_PRICES:
        _CALL_PRICES[copy] = _CALL_PRICES[span]
    return copy


# -- prices -------------------------------------------------------------------------------

_UNSET = object()
_CALL_PRICES: weakref.WeakKeyDictionary[ReadableSpan, float | None] = weakref.WeakKeyDictionary()
"""USD per LLM call span made here (None: unpriced); spans not in it use the real prices."""
_PRICE_LOCK = threading.Lock()


class _PerCall(pricing.PriceBook):
    """Every model costs `usd` per request, whatever the tokens (None: unknown price)."""

    def __init__(self, usd: float | None) -> None:
        super().__init__()
        self._rate = None if usd is None else pricing.ModelRate(0.0, 0.0, 0.0, 0.0, fixed=usd)

    def rate(self, model: str, provider: str | None = None) -> pricing.ModelRate | None:
        return self._rate


@contextmanager
def _priced(usd: Any) -> Iterator[None]:
    """Convert under `_PerCall(usd)`; `_UNSET` keeps the process's price book.

    The book is swapped process-wide while the conversion runs: a server in this process
    converting OTLP spans at that very moment would price them the same way.
    """
    if usd is _UNSET:
        yield
        return
    with _PRICE_LOCK:
        saved = pricing._default_book
        pricing._default_book = _PerCall(usd)
        try:
            yield
        finally:
            pricing._default_book = saved


def to_table(spans: Sequence[ReadableSpan]) -> pa.Table:
    """`spans` as the exporter converts them (one row per span, in order)."""
    groups: dict[Any, list[int]] = {}
    for i, span in enumerate(spans):
        groups.setdefault(_CALL_PRICES.get(span, _UNSET), []).append(i)
    tables, order = [], []
    for usd, idx in groups.items():
        with _priced(usd):
            table, failed = spans_to_table([spans[i] for i in idx])
        assert failed == 0, "a generated span failed the exporter's conversion"
        tables.append(table)
        order += idx
    if len(tables) == 1:
        return tables[0]
    where = {orig: pos for pos, orig in enumerate(order)}
    return pa.concat_tables(tables).take([where[i] for i in range(len(spans))])


def to_rows(spans: Sequence[ReadableSpan]) -> list[dict[str, Any]]:
    """The stored rows of `spans` as dicts by column name (Timestamp a naive datetime)."""
    return to_table(spans).to_pylist()  # type: ignore[no-any-return]


# -- landing ------------------------------------------------------------------------------


def new_db(path: str) -> SpanStore:
    """Create the database file with crewscope's schema; use as ``with new_db(p) as store``."""
    return SpanStore(path)


def insert_spans(target: Any, spans: Iterable[ReadableSpan]) -> None:
    """Convert `spans` as the exporter does and append them in one insert.

    `target`: a database path, a `SpanStore`, a DuckDB connection or cursor, or a query API
    `Session` (anything with ``append(table_name, arrow_table)``).
    """
    table = to_table(list(spans))
    if isinstance(target, (str, Path)):
        with SpanStore(str(target)) as store:
            store.append(table)
    elif isinstance(target, SpanStore):
        target.append(table)
    elif isinstance(target, duckdb.DuckDBPyConnection):
        view = f"_generated_spans_{id(table):x}"
        target.register(view, table)
        try:
            target.execute(INSERT_BY_NAME.format(table="otel_traces", view=view))
        finally:
            target.unregister(view)
    else:
        target.append("otel_traces", table)


# -- building runs -------------------------------------------------------------------------


@dataclass
class RunBuilder:
    """Builds the spans of one trace; every method returns the new span's context."""

    rng: random.Random
    trace_id: str = ""
    spans: list[ReadableSpan] = field(default_factory=list)
    _rows: list[dict[str, Any]] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.trace_id:
            self.trace_id = f"{self.rng.getrandbits(128):032x}"

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows the exporter stores for `spans`, in the same order."""
        if self._rows is None or len(self._rows) != len(self.spans):
            self._rows = to_rows(self.spans)
        return self._rows

    def new_context(self) -> SpanContext:
        return SpanContext(
            int(self.trace_id, 16),
            self.rng.getrandbits(64),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )

    def span(
        self,
        name: str,
        parent: SpanContext | None,
        start: datetime,
        duration_ms: float,
        *,
        context: SpanContext | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        status: StatusCode = StatusCode.UNSET,
        message: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
        events: Sequence[Event] = (),
        scope: InstrumentationScope = SCOPE,
        cost: Any = _UNSET,
    ) -> SpanContext:
        """Append one finished span; `cost` (USD or None) marks an LLM call's price."""
        ctx = context or self.new_context()
        begin = ns(start)
        span = ReadableSpan(
            name=name,
            context=ctx,
            parent=parent,
            resource=RESOURCE,
            attributes=A.clean(attributes or {}),
            events=events,
            kind=kind,
            status=Status(status, message),
            start_time=begin,
            end_time=begin + int(duration_ms * 1e6),
            instrumentation_scope=scope,
        )
        if cost is not _UNSET:
            _CALL_PRICES[span] = cost
        self.spans.append(span)
        return ctx


@dataclass
class TaskSpec:
    agent: str
    task: str
    duration_ms: float
    failed: bool = False
    error: str = "ValueError: bad input"
    steps: int = 2
    tool: str | None = "search"
    tool_fails: bool = False
    model: str = "gpt-4o-mini"
    input_tokens: int = 100
    output_tokens: int = 20
    cost: float | None = 0.001  # USD per LLM call


def _uuid(ctx: SpanContext, of: str) -> str:
    """A stable UUID (CrewAI's ids are UUIDs) that costs no draw from the run's rng."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{ctx.trace_id:x}/{ctx.span_id:x}/{of}"))


def _exception(at: datetime, error: str) -> Event:
    """The ``exception`` event `span.record_exception` adds, from "Type: message"."""
    kind, _, message = error.partition(": ")
    attrs = {"exception.type": kind, "exception.message": message, "exception.escaped": "False"}
    return Event("exception", attrs, timestamp=ns(at))


def build_run(
    rng: random.Random,
    crew: str,
    start: datetime,
    tasks: list[TaskSpec],
    *,
    inputs: dict[str, Any] | None = None,
    memory_agent: str | None = None,
) -> RunBuilder:
    """One crew kickoff: tasks run one after another; each step = one chat (+ one tool).

    Attributes as the instrumentation sets them (content capture on for the crew inputs);
    token totals of crew and task spans are the sums of their chat spans.
    """
    run = RunBuilder(rng)
    crew_ctx = run.new_context()  # the crew span is made last, once its length is known
    t = start + timedelta(milliseconds=1)
    for spec in tasks:
        on = {A.AGENT_NAME: spec.agent, A.TASK_NAME: spec.task, A.CREW_NAME: crew}
        task_error = {A.ERROR_TYPE: spec.error.split(":")[0]} if spec.failed else {}
        tools = sum(1 for i in range(spec.steps) if spec.tool and i < spec.steps - 1)
        task_ctx = run.new_context()
        run.span(
            f"invoke_agent {spec.agent}",
            crew_ctx,
            t,
            spec.duration_ms,
            context=task_ctx,
            status=StatusCode.ERROR if spec.failed else StatusCode.OK,
            message=spec.error if spec.failed else None,
            attributes={
                A.OPERATION: A.OP_AGENT,
                **on,
                A.AGENT_ID: str(uuid.uuid5(uuid.NAMESPACE_OID, spec.agent)),
                A.TASK_ID: _uuid(task_ctx, "task"),
                A.INPUT_TOKENS: spec.input_tokens * spec.steps,
                A.OUTPUT_TOKENS: spec.output_tokens * spec.steps,
                A.LLM_CALLS: spec.steps,
                A.TOOL_CALLS: tools,
                **task_error,
            },
            events=[_exception(t + timedelta(milliseconds=spec.duration_ms), spec.error)]
            if spec.failed
            else [],
        )
        step_ms = spec.duration_ms / (spec.steps + 1)
        for i in range(spec.steps):
            st = t + timedelta(milliseconds=step_ms * i + 0.1)
            calls_tool = bool(spec.tool) and i < spec.steps - 1
            step_ctx = run.span(
                f"step {spec.agent}",
                task_ctx,
                st,
                step_ms * 0.9,
                attributes={
                    A.STEP_INDEX: i + 1,
                    A.STEP_TYPE: "tool_call" if calls_tool else "final_answer",
                    **on,
                },
            )
            run.span(
                f"chat {spec.model}",
                step_ctx,
                st + timedelta(microseconds=50),
                step_ms * 0.5,
                kind=SpanKind.CLIENT,
                attributes={
                    A.OPERATION: A.OP_CHAT,
                    A.PROVIDER: "openai",
                    A.REQUEST_MODEL: spec.model,
                    A.RESPONSE_MODEL: spec.model,
                    A.INPUT_TOKENS: spec.input_tokens,
                    A.OUTPUT_TOKENS: spec.output_tokens,
                    **on,
                },
                cost=spec.cost,
            )
            if calls_tool:
                fails = spec.tool_fails and i == 0
                assert spec.tool is not None
                tool_at = st + timedelta(milliseconds=step_ms * 0.6)
                run.span(
                    f"execute_tool {spec.tool}",
                    step_ctx,
                    tool_at,
                    step_ms * 0.2,
                    status=StatusCode.ERROR if fails else StatusCode.UNSET,
                    message="tool exploded" if fails else None,
                    attributes={
                        A.OPERATION: A.OP_TOOL,
                        A.TOOL_NAME: spec.tool,
                        A.TOOL_TYPE: "function",
                        A.TOOL_FROM_CACHE: False,
                        **on,
                        **({A.ERROR_TYPE: "RuntimeError"} if fails else {}),
                    },
                    events=[_exception(st, "RuntimeError: tool exploded")] if fails else [],
                )
        if memory_agent == spec.agent:
            for op in ("query", "save"):
                run.span(
                    f"memory {op}",
                    task_ctx,
                    t,
                    1.5,
                    attributes={
                        A.MEMORY_OPERATION: op,
                        A.AGENT_NAME: spec.agent,
                        **({A.MEMORY_RESULTS: 1} if op == "query" else {}),
                    },
                )
        t += timedelta(milliseconds=spec.duration_ms + 1)
    first_failure = next((s for s in tasks if s.failed), None)
    total_ms = (t - start).total_seconds() * 1000 + 1
    run.span(
        f"invoke_workflow {crew}",
        None,
        start,
        total_ms,
        context=crew_ctx,
        status=StatusCode.ERROR if first_failure else StatusCode.OK,
        message=first_failure.error if first_failure else None,
        attributes={
            A.OPERATION: A.OP_WORKFLOW,
            A.WORKFLOW_NAME: crew,
            A.CREW_NAME: crew,
            A.CREW_ID: _uuid(crew_ctx, "crew"),
            A.CREW_PROCESS: "sequential",
            A.CREW_KICKOFF: "kickoff",
            A.CREW_INPUT_KEYS: list(inputs or {}),
            A.CREW_INPUTS: json.dumps(inputs) if inputs else None,
            A.INPUT_TOKENS: sum(s.input_tokens * s.steps for s in tasks),
            A.OUTPUT_TOKENS: sum(s.output_tokens * s.steps for s in tasks),
            A.LLM_CALLS: sum(s.steps for s in tasks),
            A.ERROR_TYPE: first_failure.error.split(":")[0] if first_failure else None,
        },
        events=[_exception(t, first_failure.error)] if first_failure else [],
    )
    run.spans.insert(0, run.spans.pop())  # the crew span first, as the old rows had it
    return run


def http_span(
    rng: random.Random, route: str, status: int, start: datetime, duration_ms: float
) -> ReadableSpan:
    """One HTTP server span as the FastAPI instrumentation makes it."""
    run = RunBuilder(rng)
    run.span(
        f"GET {route}",
        None,
        start,
        duration_ms,
        kind=SpanKind.SERVER,
        status=StatusCode.ERROR if status >= 500 else StatusCode.UNSET,
        attributes={
            "http.route": route,
            "http.request.method": "GET",
            "http.response.status_code": status,
        },
        scope=HTTP_SCOPE,
    )
    return run.spans[0]
