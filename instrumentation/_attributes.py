"""Attribute names and pure helpers that turn CrewAI objects into span attributes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as GenAI
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.util.types import AttributeValue

OPERATION = GenAI.GEN_AI_OPERATION_NAME
PROVIDER = GenAI.GEN_AI_PROVIDER_NAME
REQUEST_MODEL = GenAI.GEN_AI_REQUEST_MODEL
RESPONSE_MODEL = GenAI.GEN_AI_RESPONSE_MODEL
INPUT_TOKENS = GenAI.GEN_AI_USAGE_INPUT_TOKENS
OUTPUT_TOKENS = GenAI.GEN_AI_USAGE_OUTPUT_TOKENS
CACHE_READ_TOKENS = GenAI.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
AGENT_NAME = GenAI.GEN_AI_AGENT_NAME
AGENT_ID = GenAI.GEN_AI_AGENT_ID
WORKFLOW_NAME = GenAI.GEN_AI_WORKFLOW_NAME
TOOL_NAME = GenAI.GEN_AI_TOOL_NAME
TOOL_TYPE = GenAI.GEN_AI_TOOL_TYPE
TOOL_CALL_ID = GenAI.GEN_AI_TOOL_CALL_ID
TOOL_ARGUMENTS = GenAI.GEN_AI_TOOL_CALL_ARGUMENTS
TOOL_RESULT = GenAI.GEN_AI_TOOL_CALL_RESULT
INPUT_MESSAGES = GenAI.GEN_AI_INPUT_MESSAGES
OUTPUT_MESSAGES = GenAI.GEN_AI_OUTPUT_MESSAGES
ERROR_TYPE = error_attributes.ERROR_TYPE

OP_WORKFLOW = GenAI.GenAiOperationNameValues.INVOKE_WORKFLOW.value
OP_AGENT = GenAI.GenAiOperationNameValues.INVOKE_AGENT.value
OP_CHAT = GenAI.GenAiOperationNameValues.CHAT.value
OP_TOOL = GenAI.GenAiOperationNameValues.EXECUTE_TOOL.value

# crewai.* / crewscope.* extras (not in the GenAI semantic conventions)
CREW_NAME = "crewai.crew.name"
CREW_ID = "crewai.crew.id"
CREW_PROCESS = "crewai.crew.process"
CREW_KICKOFF = "crewai.crew.kickoff"
CREW_INPUT_KEYS = "crewai.crew.input_keys"
CREW_INPUTS = "crewai.crew.inputs"
TASK_NAME = "crewai.task.name"
TASK_ID = "crewai.task.id"
DELEGATED_TASK = "crewai.delegation.task"  # content: the ad-hoc task text a manager LLM wrote
TASK_ATTEMPT = "crewai.task.attempt"  # step: which agent execution of its task (1-based)
TASK_ATTEMPTS = "crewai.task.attempts"  # task: how many agent executions it took
STEP_INDEX = "crewai.step.index"
STEP_TYPE = "crewai.step.type"
TOOL_FROM_CACHE = "crewai.tool.from_cache"
MEMORY_OPERATION = "crewai.memory.operation"
MEMORY_RESULTS = "crewai.memory.results"
FLOW_NAME = "crewai.flow.name"
FLOW_METHOD = "crewai.flow.method"
LLM_CALLS = "crewscope.llm.calls"
TOOL_CALLS = "crewscope.tool.calls"
OUTPUT_PREVIEW = "crewscope.output.preview"
# Runs (see SPANS.md "Runs"): stamped at span start, so the store needs no ancestry
RUN_KIND = "crewscope.run.kind"  # on run spans: flow | crew | agent
RUN_ID = "crewscope.run.id"  # run span: its own id; other spans: the nearest enclosing run
RUN_ROOT_ID = "crewscope.run.root_id"  # the top-level run's id
RUN_PARENT_ID = "crewscope.run.parent_id"  # run spans nested in another run only
RUN_FLOW_METHOD = "crewscope.flow.method"  # a crew run inside a flow: the method it ran under
DELEGATED = "crewscope.delegated"  # a coworker's invoke_agent run inside a delegation tool
FLOW_GRAPH = "crewscope.flow.graph"  # flow run span: its methods and triggers, JSON (flow_graph)
RUN_FLOW = "flow"
RUN_CREW = "crew"
RUN_AGENT = "agent"
# The GenAI log event of one LLM call (semconv; no constant in opentelemetry-semantic-conventions
# 0.66b2): emitted as a log record in the EVENT_ONLY / SPAN_AND_EVENT capture modes
INFERENCE_EVENT = "gen_ai.client.inference.operation.details"

_PROVIDER_ALIASES = {"gemini": "gcp.gemini", "azure": "azure.ai.openai", "bedrock": "aws.bedrock"}


def span_id_hex(span_id: int) -> str:
    """A span id as 16 lowercase hex characters (the stored ``SpanId``)."""
    return format(span_id, "016x")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 15)] + "...[truncated]"


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raw = getattr(value, "raw", None)  # TaskOutput / CrewOutput
    if isinstance(raw, str):
        return raw
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def clean(attrs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """Drop None values (OTel rejects them) and coerce odd types to str."""
    out: dict[str, AttributeValue] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, (str, bool, int, float)):
            out[key] = value
        elif isinstance(value, (list, tuple)):
            out[key] = [str(v) for v in value if v is not None]
        else:
            out[key] = str(value)
    return out


def provider_name(llm: Any) -> str | None:
    """Map CrewAI's provider spelling to the semconv ``gen_ai.provider.name`` value."""
    raw = getattr(llm, "provider", None) or getattr(llm, "llm_type", None)
    if not isinstance(raw, str) or not raw:
        return None
    raw = raw.lower()
    return _PROVIDER_ALIASES.get(raw, raw)


def model_name(llm: Any) -> str:
    model = getattr(llm, "model", None)
    return model if isinstance(model, str) and model else "unknown"


def display_name(value: object) -> str | None:
    """A name as the user wrote it minus layout whitespace, None if nothing is left.

    YAML folded scalars (``role: >``) end in a newline and may wrap lines: the name is
    stripped and every run of whitespace becomes one space. Used for every agent role,
    crew, flow and task name before it becomes a span name, attribute or metric label.
    """
    if value is None:
        return None
    return " ".join(str(value).split()) or None


def _template(obj: Any, field: str) -> Any:
    """The text the user wrote, before CrewAI filled in the kickoff inputs: CrewAI keeps it
    as ``_original_<field>`` once it has interpolated ``role: "{topic} analyst"``; the filled
    in text holds the crew's inputs, which are content (recorded only with capture on)."""
    original = getattr(obj, f"_original_{field}", None)
    return original if isinstance(original, str) and original else getattr(obj, field, None)


def agent_role(agent: Any) -> str | None:
    return display_name(_template(agent, "role"))


def task_name(task: Any) -> str | None:
    """A task's low-cardinality name: its ``name`` if set, else the start of its description
    (as written, placeholders unfilled)."""
    name = display_name(getattr(task, "name", None))
    if name:
        return name
    description = display_name(_template(task, "description"))
    return truncate(description, 80) if description else None


def crew_name(crew: Any) -> str:
    return display_name(getattr(crew, "name", None)) or "crew"


def flow_name(flow: Any) -> str:
    return display_name(getattr(flow, "name", None)) or type(flow).__name__


def flow_graph(flow: Any) -> str | None:
    """The flow's methods and what triggers them, as compact JSON (``crewscope.flow.graph``):
    ``{"methods": [{"name", "start", "router", "listen", "emit"}, ...]}`` in definition order,
    from CrewAI's static flow definition (``FlowDefinition.methods``); None without one.

    ``listen`` is a method name or router label, or ``{"or"|"and": [...]}`` (nested as
    written), or null; a conditional start (``@start(condition)``) is ``start: true`` with
    its condition in ``listen`` (or-ed with a listen condition of its own). ``emit`` is the
    router's declared labels (``emit=``, a ``Literal`` return type, or human feedback's
    ``emit``), else null.
    """
    definition = getattr(flow, "_definition", None) or getattr(type(flow), "_flow_definition", None)
    methods = getattr(definition, "methods", None)
    if not isinstance(methods, Mapping) or not methods:
        return None
    out = []
    for name, method in methods.items():
        start = getattr(method, "start", None)
        listen = _flow_condition(getattr(method, "listen", None))
        if start is not None and not isinstance(start, bool):  # a conditional start
            when = _flow_condition(start)
            if when is not None:
                listen = when if listen is None else {"or": [when, listen]}
        emit = getattr(method, "emit", None)
        if not emit:  # human feedback routes with its own outcomes
            emit = getattr(getattr(method, "human_feedback", None), "emit", None)
        out.append(
            {
                "name": str(name),
                "start": bool(start),
                "router": bool(getattr(method, "router", False)),
                "listen": listen,
                "emit": [str(label) for label in emit] if emit else None,
            }
        )
    return json.dumps({"methods": out}, separators=(",", ":"))


def _flow_condition(condition: Any) -> str | dict[str, Any] | None:
    """A flow trigger as a name or ``{"or"|"and": [...]}``: CrewAI's definition dicts, its
    runtime condition dicts (``{"type": "OR", "conditions"|"methods": [...]}``) or a method."""
    if condition is None or isinstance(condition, bool):
        return None
    if isinstance(condition, str):
        return condition
    if isinstance(condition, Mapping):
        for key in ("or", "and"):
            items = condition.get(key, condition.get(key.upper()))
            if isinstance(items, (list, tuple)):
                return {key: [c for c in map(_flow_condition, items) if c is not None]}
        kind = condition.get("type")
        items = condition.get("conditions", condition.get("methods"))
        if isinstance(kind, str) and kind.lower() in ("or", "and") and isinstance(items, list):
            return {kind.lower(): [c for c in map(_flow_condition, items) if c is not None]}
        return None
    name = getattr(condition, "__name__", None)  # a method reference
    return name if isinstance(name, str) else None


def input_keys(inputs: Any) -> list[str]:
    if isinstance(inputs, Mapping):
        return sorted(str(k) for k in inputs)
    return []


def normalize_usage(usage: Any) -> tuple[int, int, int] | None:
    """Provider usage dict -> (input, output, cache_read) tokens.

    Uses CrewAI's own normaliser (``UsageMetrics.from_provider_dict``) so every provider's
    spelling is handled the way CrewAI handles it; falls back to the common spellings.
    """
    if not isinstance(usage, Mapping) or not usage:
        return None
    try:
        from crewai.types.usage_metrics import UsageMetrics

        metrics = UsageMetrics.from_provider_dict(dict(usage))
        if metrics is not None:
            return (
                int(metrics.prompt_tokens),
                int(metrics.completion_tokens),
                int(metrics.cached_prompt_tokens or 0),
            )
    except (ImportError, AttributeError, TypeError, ValueError):  # other CrewAI: fall back
        pass

    def first(*keys: str) -> int:
        for key in keys:
            value = usage.get(key)
            if isinstance(value, (int, float)):
                return int(value)
        return 0

    return (
        first("prompt_tokens", "input_tokens", "inputTokens", "prompt_token_count"),
        first("completion_tokens", "output_tokens", "outputTokens", "candidates_token_count"),
        first("cached_tokens", "cache_read_input_tokens"),
    )
