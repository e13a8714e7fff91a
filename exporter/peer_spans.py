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
*later* batch than a child cannot name that child's agent any more: such a child is stored
with ``AgentName`` NULL. That happens when an agent's work outlasts the peer's export
interval (BatchSpanProcessor: 5 s by default, ``OTEL_BSP_SCHEDULE_DELAY``), or when the
receiver's decode workers (each with its own cache) split a trace. The DuckDB store fills
it once the enclosing span has landed: its projection sync gives LLM and tool calls the
agent, task and crew of their nearest ancestors that name them, and tasks their crew, by
ancestry in ``otel_traces`` (``query_api/store/late_agents.py``), in its usage tables and
hourly sums and in the typed columns of the row in ``otel_traces`` (its attributes stay as
sent).

Unknown shapes are stored untouched: `recognise` only reads attributes; nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import NamedTuple

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GenAiOperationNameValues,
)

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
INVOKE_WORKFLOW = "invoke_workflow"
"""Not in the installed semconv constants yet; crewscope's run spans use it."""
AGGREGATE_OPERATIONS = frozenset({_INVOKE_AGENT, INVOKE_WORKFLOW})

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
    "workflow": INVOKE_WORKFLOW,
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
        return got._replace(operation=INVOKE_WORKFLOW, source=Source.OPENLLMETRY)
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
        op = INVOKE_WORKFLOW
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
    if op == INVOKE_WORKFLOW and attrs.get("gen_ai.workflow.name") == CREWAI_AGENT_EXECUTOR:
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
