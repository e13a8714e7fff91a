"""Spans of other GenAI instrumentations, read into crewscope's typed columns.

crewscope's own spans follow the current GenAI semantic conventions. Spans that other
instrumentations emit for the same CrewAI app arrive through the OTLP receiver (or an
in-process exporter on a shared tracer provider) in their own shapes; this module is the
one place that knows those shapes. `span_rows` uses it for every ingest path:

* `recognise(attrs)` -> `Recognised`: one span's operation, crew/workflow, task, agent,
  tool, model, provider and token counts, and which instrumentation (`Source`) made it,
  from its string attributes alone. Shapes:

  - current GenAI semconv (``gen_ai.operation.name``, ``gen_ai.usage.input_tokens``, ...)
    and its older names (``gen_ai.usage.prompt_tokens`` / ``completion_tokens``,
    ``gen_ai.system``; OpenLLMetry's ``llm.request.type``);
  - OpenInference (``openinference.span.kind``, ``llm.model_name``, ``llm.provider`` /
    ``llm.system``, ``llm.token_count.prompt`` / ``completion``, ``tool.name``,
    ``agent.name`` / ``graph.node.id``; its CrewAI instrumentor's ``task_name``,
    ``crew_key``, ``flow_id``);
  - OpenLLMetry (``traceloop.span.kind`` / ``entity.name`` / ``workflow.name``, the
    ``crewai.*`` attributes of its CrewAI instrumentor, which marks the crew, task and
    agent spans all ``invoke_agent``);
  - OpenLIT (``telemetry.sdk.name = openlit`` on its spans: semconv names, plus the spans
    of CrewAI's internal ``AgentExecutor`` flow, which are neither runs nor tasks).

* `resolve(nodes, cache)`: what needs the span's name, scope or enclosing spans, over one
  batch. The source from the instrumentation scope; OpenInference's crew name from its
  span name (``<crew>.kickoff``); agent, task and crew inherited from the nearest
  enclosing span that has them (a chat span under an ``invoke_agent`` span); token totals
  of the peers' run and task spans taken from the LLM-call spans beneath them, never from
  the peer's own total (CrewAI's ``usage_metrics``, which OpenLIT and OpenLLMetry report,
  counted this demo crew's prompt tokens twice); an LLM-call span wrapping another one
  (OpenLLMetry's ``LLM.call`` span around its OpenAI span) is not counted as a call again.

Limits (row conversion sees one batch at a time): spans of a trace may arrive in several
batches and in any order. `TraceCache` keeps, per recent trace (bounded: `MAX_TRACES`, at
most `MAX_SPANS_PER_TRACE` spans each), the enclosing spans already seen and the token sums
of LLM calls whose parent has not arrived yet. Children end, and are exported, before their
parents, so token totals are right across batches; but an enclosing span that arrives in a
*later* batch than a child cannot name that child's agent any more: such a child keeps
``AgentName`` NULL. That happens when an agent's work outlasts the peer's export interval
(BatchSpanProcessor: 5 s by default, ``OTEL_BSP_SCHEDULE_DELAY``); only the store, once the
enclosing span has landed, can fill it (by ancestry in ``otel_traces``). The receiver's
decode workers each keep their own cache: a trace split between two workers loses the same.

Unknown shapes are stored untouched: `recognise` only reads attributes; nothing is dropped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GenAiOperationNameValues,
)

from crewscope.exporter.operations import LLM_OPERATION_SET

SOURCE_ATTRIBUTE = "crewscope.source"
"""Span attribute that row conversion adds to the spans of a known peer instrumentation
(`TAGGED_SOURCES`): which one. Every other span is stored exactly as it came: crewscope's
own (scope ``crewscope.*``), other GenAI-semconv spans (their scope says whose) and spans of
no GenAI shape (HTTP, database, ...). A value already there is kept."""


class Source(str, Enum):
    """Which instrumentation made a span."""

    CREWSCOPE = "crewscope"
    OPENINFERENCE = "openinference"
    OPENLLMETRY = "openllmetry"
    OPENLIT = "openlit"
    SEMCONV = "semconv"
    """Another instrumentation that uses the GenAI semantic conventions' names."""


TAGGED_SOURCES = frozenset({Source.OPENINFERENCE, Source.OPENLLMETRY, Source.OPENLIT})

_CHAT = GenAiOperationNameValues.CHAT.value
_TEXT_COMPLETION = GenAiOperationNameValues.TEXT_COMPLETION.value
_EMBEDDINGS = GenAiOperationNameValues.EMBEDDINGS.value
_INVOKE_AGENT = GenAiOperationNameValues.INVOKE_AGENT.value
_EXECUTE_TOOL = GenAiOperationNameValues.EXECUTE_TOOL.value
_INVOKE_WORKFLOW = "invoke_workflow"
"""Not in the installed semconv constants yet; crewscope's run spans use it."""
_AGGREGATES = frozenset({_INVOKE_AGENT, _INVOKE_WORKFLOW})

# OpenInference (openinference-semantic-conventions SpanAttributes / span kinds)
OI_SPAN_KIND = "openinference.span.kind"
_OI_OPERATIONS = {
    "LLM": _CHAT,
    "EMBEDDING": _EMBEDDINGS,
    "TOOL": _EXECUTE_TOOL,
    "AGENT": _INVOKE_AGENT,
}
# OpenLLMetry (opentelemetry-semantic-conventions-ai SpanAttributes / TraceloopSpanKindValues)
TRACELOOP_SPAN_KIND = "traceloop.span.kind"
_TRACELOOP_OPERATIONS = {
    "workflow": _INVOKE_WORKFLOW,
    "task": _INVOKE_AGENT,
    "agent": _INVOKE_AGENT,
    "tool": _EXECUTE_TOOL,
}
_LLM_REQUEST_TYPES = {  # OpenLLMetry's older llm.request.type (LLMRequestTypeValues)
    "chat": _CHAT,
    "completion": _TEXT_COMPLETION,
    "embedding": _EMBEDDINGS,
}
OPENLIT_SDK = "openlit"
CREWAI_AGENT_EXECUTOR = "AgentExecutor"
"""CrewAI runs each agent's task as an internal flow of this name: OpenLIT reports it as an
``invoke_workflow`` span and its methods as ``invoke_agent`` spans without an agent."""


class Recognised(NamedTuple):
    """What `recognise` read from one span's attributes (None: not there)."""

    operation: str | None
    crew: str | None
    task: str | None
    agent: str | None
    tool: str | None
    model: str | None
    provider: str | None
    input_tokens: str | None
    output_tokens: str | None
    cache_read_tokens: str | None
    cache_write_tokens: str | None
    source: Source | None


def recognise(attrs: Mapping[str, str]) -> Recognised:
    """The typed-column values of one span, from its string attributes."""
    if OI_SPAN_KIND in attrs:
        return _openinference(attrs)
    if TRACELOOP_SPAN_KIND in attrs:
        return _openllmetry(attrs)
    got = _semconv(attrs)
    if attrs.get("telemetry.sdk.name") == OPENLIT_SDK:
        return _openlit(attrs, got)
    if (
        got.operation == _INVOKE_AGENT
        and "crewai.crew.id" in attrs
        and "crewai.task.id" not in attrs
        and "crewscope.run.id" not in attrs
    ):  # OpenLLMetry's "crewai.workflow" span: the crew kickoff, marked invoke_agent
        return got._replace(operation=_INVOKE_WORKFLOW, source=Source.OPENLLMETRY)
    return got


def _semconv(attrs: Mapping[str, str]) -> Recognised:
    get = attrs.get
    op = get("gen_ai.operation.name")
    if op is None:
        request_type = get("llm.request.type")
        op = _LLM_REQUEST_TYPES.get(request_type) if request_type else None
    model = get("gen_ai.response.model") or get("gen_ai.request.model")
    provider = get("gen_ai.provider.name") or get("gen_ai.system")
    in_tok = get("gen_ai.usage.input_tokens") or get("gen_ai.usage.prompt_tokens")
    out_tok = get("gen_ai.usage.output_tokens") or get("gen_ai.usage.completion_tokens")
    if "crewscope.run.id" in attrs:
        source: Source | None = Source.CREWSCOPE
    elif op is not None or model is not None or in_tok is not None:
        source = Source.SEMCONV
    else:
        source = None
    return Recognised(
        op,
        get("crewai.crew.name") or get("gen_ai.workflow.name"),
        get("crewai.task.name"),
        get("gen_ai.agent.name"),
        get("gen_ai.tool.name"),
        model,
        provider,
        in_tok,
        out_tok,
        get("gen_ai.usage.cache_read.input_tokens") or get("gen_ai.usage.cache_read_input_tokens"),
        get("gen_ai.usage.cache_creation.input_tokens")
        or get("gen_ai.usage.cache_creation_input_tokens"),
        source,
    )


def _openinference(attrs: Mapping[str, str]) -> Recognised:
    get = attrs.get
    kind = get(OI_SPAN_KIND, "").upper()
    op = _OI_OPERATIONS.get(kind)
    if (
        kind == "CHAIN"
        and "flow.node.name" not in attrs
        and ("crew_key" in attrs or "flow_id" in attrs)
    ):  # a crew or flow kickoff; a flow's method spans carry flow.node.name
        op = _INVOKE_WORKFLOW
    model = (
        get("llm.response.model_name")
        or get("llm.model_name")
        or get("llm.request.model_name")
        or get("embedding.model_name")
    )
    return Recognised(
        op,
        None,  # OpenInference names the crew only in the span name (resolve)
        get("task_name"),
        get("agent.name") or (get("graph.node.id") if kind == "AGENT" else None),
        get("tool.name") if kind == "TOOL" else None,
        model,
        get("llm.provider") or get("llm.system"),
        get("llm.token_count.prompt"),
        get("llm.token_count.completion"),
        get("llm.token_count.prompt_details.cache_read"),
        get("llm.token_count.prompt_details.cache_write"),
        Source.OPENINFERENCE,
    )


def _openllmetry(attrs: Mapping[str, str]) -> Recognised:
    get = attrs.get
    got = _semconv(attrs)
    kind = get(TRACELOOP_SPAN_KIND)
    op = _TRACELOOP_OPERATIONS.get(kind or "", got.operation)
    entity = get("traceloop.entity.name")
    crew, task, agent, tool = got.crew, got.task, got.agent, got.tool
    if kind == "workflow":
        crew = crew or get("traceloop.workflow.name") or entity
    elif kind == "task":
        # CrewAI's Task span: the task execution (crewscope's invoke_agent row)
        task = task or get("crewai.task.description") or entity
        agent = agent or get("crewai.task.agent")
    elif kind == "agent":
        agent = agent or get("crewai.agent.role") or entity
        if "crewai.agent.role" in attrs:
            # CrewAI's Agent.execute_task span, inside the Task span: the same task
            # execution once more, not a second task
            op = None
    elif kind == "tool":
        tool = tool or entity
    return got._replace(
        operation=op, crew=crew, task=task, agent=agent, tool=tool, source=Source.OPENLLMETRY
    )


def _openlit(attrs: Mapping[str, str], got: Recognised) -> Recognised:
    op = got.operation
    if op == _INVOKE_WORKFLOW and attrs.get("gen_ai.workflow.name") == CREWAI_AGENT_EXECUTOR:
        op = None
        got = got._replace(crew=None)  # the executor flow's name is not the crew's
    elif op == _INVOKE_AGENT and got.agent is None:
        op = None  # a method of the executor flow (generate_plan, finalize, ...)
    return got._replace(operation=op, source=Source.OPENLIT)


def source_from_scope(scope: str | None) -> Source | None:
    """The instrumentation named by an instrumentation scope, if it is a known one."""
    if not scope:
        return None
    if scope.startswith("crewscope"):
        return Source.CREWSCOPE
    if scope.startswith("openinference"):
        return Source.OPENINFERENCE
    if scope.startswith("openlit"):
        return Source.OPENLIT
    if scope.startswith(
        ("opentelemetry.instrumentation.openai.v", "opentelemetry.instrumentation.crewai")
    ) or scope.startswith("traceloop"):
        return Source.OPENLLMETRY
    return None


# ---------------------------------------------------------------------------------------
# Batch resolution


@dataclass(slots=True)
class Node:
    """One span of a batch, as `resolve` reads and updates it."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    scope: str | None
    operation: str | None
    crew: str | None
    task: str | None
    agent: str | None
    input_tokens: int | None
    output_tokens: int | None
    source: Source | None = None
    changed: bool = False


MAX_TRACES = 4096
"""Traces `TraceCache` remembers (least recently used dropped first)."""
MAX_SPANS_PER_TRACE = 4096
"""Entries a trace keeps (enclosing spans, pending sums); later ones are not remembered."""
MAX_DEPTH = 256
"""Longest chain of parents followed when inheriting agent, task and crew."""


@dataclass(slots=True)
class _Trace:
    contexts: dict[str, tuple[str, str | None, str | None, str | None]]
    """span id -> (parent id, crew, task, agent) of the enclosing spans already seen."""
    pending: dict[str, list[int]]
    """span id not seen yet -> [input, output, calls] of the LLM calls beneath it so far."""


class TraceCache:
    """Bounded per-trace memory across batches (thread-safe); see the module's Limits."""

    def __init__(self, max_traces: int = MAX_TRACES) -> None:
        self.max_traces = max_traces
        self._traces: OrderedDict[str, _Trace] = OrderedDict()
        self.lock = threading.Lock()

    def trace(self, trace_id: str) -> _Trace:
        traces = self._traces
        entry = traces.get(trace_id)
        if entry is None:
            entry = traces[trace_id] = _Trace({}, {})
            while len(traces) > self.max_traces:
                traces.popitem(last=False)
        else:
            traces.move_to_end(trace_id)
        return entry

    def __len__(self) -> int:
        return len(self._traces)

    def clear(self) -> None:
        with self.lock:
            self._traces.clear()


DEFAULT_CACHE = TraceCache()
"""The process's cache, shared by every `SpanColumns` batch."""


def resolve(nodes: list[Node], cache: TraceCache = DEFAULT_CACHE) -> None:
    """Complete one batch's nodes in place (see the module doc); sets ``changed``."""
    by_id: dict[tuple[str, str], Node] = {}
    for node in nodes:
        by_id[(node.trace_id, node.span_id)] = node
        scoped = source_from_scope(node.scope)
        if scoped is not None and node.source in (None, Source.SEMCONV):
            node.source, node.changed = scoped, True
        if (
            node.source is Source.OPENINFERENCE
            and node.operation == _INVOKE_WORKFLOW
            and node.crew is None
        ):
            node.crew, node.changed = node.name.removesuffix(".kickoff"), True
    with cache.lock:
        _inherit(nodes, by_id, cache)
        _sum_tokens(nodes, by_id, cache)


def _peer(node: Node) -> bool:
    return node.source is not Source.CREWSCOPE and node.source is not None


def _inherit(nodes: list[Node], by_id: dict[tuple[str, str], Node], cache: TraceCache) -> None:
    for node in nodes:  # remember the enclosing spans for later batches
        if node.operation in _AGGREGATES or node.agent or node.task or node.crew:
            contexts = cache.trace(node.trace_id).contexts
            if len(contexts) < MAX_SPANS_PER_TRACE:
                contexts[node.span_id] = (node.parent_id, node.crew, node.task, node.agent)
    for node in nodes:
        if not _peer(node) or (node.crew and node.task and node.agent):
            continue
        if node.operation == _INVOKE_WORKFLOW:
            continue  # a run has no agent or task of its own
        crew, task, agent = node.crew, node.task, node.agent
        parent, depth = node.parent_id, 0
        trace = None
        while parent and depth < MAX_DEPTH and not (crew and task and agent):
            depth += 1
            above = by_id.get((node.trace_id, parent))
            if above is not None:
                p_crew, p_task, p_agent, parent = (
                    above.crew, above.task, above.agent, above.parent_id
                )  # fmt: skip
            else:
                trace = trace or cache.trace(node.trace_id)
                seen = trace.contexts.get(parent)
                if seen is None:
                    break
                parent, p_crew, p_task, p_agent = seen
            crew, task, agent = crew or p_crew, task or p_task, agent or p_agent
        if (crew, task, agent) != (node.crew, node.task, node.agent):
            node.crew, node.task, node.agent, node.changed = crew, task, agent, True


def _sum_tokens(nodes: list[Node], by_id: dict[tuple[str, str], Node], cache: TraceCache) -> None:
    """Children first (deepest in the batch first): each span takes the sums its children
    left in the cache and passes its subtree's sums to its parent."""

    def depth(node: Node) -> int:
        d, parent = 0, node.parent_id
        while parent and d < MAX_DEPTH:
            above = by_id.get((node.trace_id, parent))
            if above is None:
                break
            d, parent = d + 1, above.parent_id
        return d

    for node in sorted(nodes, key=depth, reverse=True):
        trace = cache.trace(node.trace_id)
        below = trace.pending.pop(node.span_id, None)
        is_call = node.operation in LLM_OPERATION_SET
        if is_call and below is not None and below[2]:
            # a call that wraps calls (the framework's LLM.call around the client's
            # request): the inner spans are the calls; this one is not counted again
            node.operation, node.input_tokens, node.output_tokens = None, None, None
            node.changed, is_call = True, False
        if is_call:
            mine = [node.input_tokens or 0, node.output_tokens or 0, 1]
            if node.input_tokens is None and node.output_tokens is None:
                mine[2] = 0  # no usage reported: nothing to add
            sub = mine if below is None else [a + b for a, b in zip(below, mine, strict=True)]
        else:
            sub = below or [0, 0, 0]
            if below is not None and below[2] and _peer(node) and node.operation in _AGGREGATES:
                if (node.input_tokens, node.output_tokens) != (below[0], below[1]):
                    node.input_tokens, node.output_tokens = below[0], below[1]
                    node.changed = True
        if node.parent_id and sub[2]:
            acc = trace.pending.get(node.parent_id)
            if acc is None:
                if len(trace.pending) < MAX_SPANS_PER_TRACE:
                    trace.pending[node.parent_id] = list(sub)
            else:
                acc[0] += sub[0]
                acc[1] += sub[1]
                acc[2] += sub[2]
