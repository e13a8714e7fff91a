"""The one table of CrewAI patch points (see CREWAI_PATCHPOINTS.md), and apply/undo."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable
from typing import Any

from wrapt import FunctionWrapper, wrap_function_wrapper

from . import _agent_wrappers as agents
from . import _llm_wrappers as llm
from . import _run_wrappers as run
from . import _tool_wrappers as tools
from ._spans import Telemetry, Wrapper, passthrough_wrapper, traced
from ._state import TOOL

logger = logging.getLogger(__name__)

Target = tuple[str, str, Wrapper]

# Each provider class has its own ``call``/``acall`` (BaseLLM.call is abstract), and the
# provider modules are optional: Anthropic/Gemini/Bedrock/Azure raise ImportError without
# their SDKs, so each is patched only if it imports.
PROVIDERS = (
    ("crewai.llms.providers.openai.completion", "OpenAICompletion"),
    ("crewai.llms.providers.anthropic.completion", "AnthropicCompletion"),
    ("crewai.llms.providers.gemini.completion", "GeminiCompletion"),
    ("crewai.llms.providers.azure.completion", "AzureCompletion"),
    ("crewai.llms.providers.bedrock.completion", "BedrockCompletion"),
    ("crewai.llm", "LLM"),  # litellm fallback
)


# Where each native provider reads usage off its response object, once per response
# (streaming: the final chunk): the model that answered is read there too. The litellm
# fallback and Bedrock (whose Converse response names no model) have no such point.
RESPONSE_READERS = (
    ("crewai.llms.providers.openai.completion", "OpenAICompletion._extract_openai_token_usage"),
    (
        "crewai.llms.providers.openai.completion",
        "OpenAICompletion._extract_responses_token_usage",  # Responses API
    ),
    (
        "crewai.llms.providers.anthropic.completion",
        "AnthropicCompletion._extract_anthropic_token_usage",
    ),
    ("crewai.llms.providers.azure.completion", "AzureCompletion._extract_azure_token_usage"),
    ("crewai.llms.providers.gemini.completion", "GeminiCompletion._extract_token_usage"),
)


def _tool_run(tel: Telemetry) -> Wrapper:
    """``BaseTool.run``: under a tool span it is one execution; otherwise a tool span itself."""
    own_span = traced(tools.direct_tool_run(tel))

    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if TOOL.get() is None:
            return own_span(wrapped, instance, args, kwargs)
        return tools.record_execution(wrapped, instance, args, kwargs)

    return wrapper


def targets(tel: Telemetry) -> list[Target]:
    usage = passthrough_wrapper(before=llm.usage_tracked)
    table: list[Target] = [
        ("crewai.crew", "Crew.kickoff", traced(run.crew_kickoff(tel, "kickoff"))),
        ("crewai.crew", "Crew.akickoff", traced(run.crew_kickoff(tel, "akickoff"), is_async=True)),
        ("crewai.crew", "Crew.kickoff_async", run.kickoff_marker("kickoff_async", is_async=True)),
        ("crewai.crew", "Crew.kickoff_for_each", run.kickoff_marker("kickoff_for_each")),
        (
            "crewai.crew",
            "Crew.kickoff_for_each_async",
            run.kickoff_marker("kickoff_for_each_async", is_async=True),
        ),
        (
            "crewai.crew",
            "Crew.akickoff_for_each",
            run.kickoff_marker("akickoff_for_each", is_async=True),
        ),
        ("crewai.task", "Task._execute_core", traced(run.task_execution(tel))),
        ("crewai.task", "Task._aexecute_core", traced(run.task_execution(tel), is_async=True)),
        ("crewai.agent.core", "Agent.kickoff", traced(agents.agent_kickoff(tel))),
        (
            "crewai.agent.core",
            "Agent.kickoff_async",
            traced(agents.agent_kickoff(tel), is_async=True),
        ),
        # module global, looked up at call time: exactly one call per agent LLM turn
        ("crewai.agents.agent_executor", "get_llm_response", traced(llm.agent_step(tel))),
        (
            "crewai.agents.agent_executor",
            "AgentExecutor.invoke",
            passthrough_wrapper(after=llm.executor_invoke_end),
        ),
        (
            "crewai.agents.agent_executor",
            "AgentExecutor.invoke_async",
            passthrough_wrapper(after=llm.executor_invoke_end, is_async=True),
        ),
        ("crewai.llms.base_llm", "BaseLLM._track_token_usage_internal", usage),
        (
            "crewai.llms.providers.bedrock.completion",
            "BedrockCompletion._track_token_usage_internal",  # Bedrock overrides it
            usage,
        ),
        (
            "crewai.agents.agent_executor",
            "AgentExecutor._execute_single_native_tool_call",
            traced(tools.native_tool_call(tel)),
        ),
        ("crewai.tools.tool_usage", "ToolUsage.use", traced(tools.react_tool_call(tel))),
        ("crewai.tools.structured_tool", "CrewStructuredTool.invoke", tools.record_execution),
        ("crewai.tools.base_tool", "BaseTool.run", _tool_run(tel)),
        ("crewai.tools.base_tool", "Tool.run", _tool_run(tel)),  # overrides BaseTool.run
        (
            "crewai.memory.unified_memory",
            "Memory.remember",
            traced(tools.memory_operation(tel, "save")),
        ),
        (
            "crewai.memory.unified_memory",
            "Memory.remember_many",
            traced(tools.memory_operation(tel, "save")),
        ),
        (
            "crewai.memory.unified_memory",
            "Memory.recall",
            traced(tools.memory_operation(tel, "query")),
        ),
        (
            "crewai.memory.unified_memory",
            "Memory.aremember",
            traced(tools.memory_operation(tel, "save"), is_async=True),
        ),
        (
            "crewai.memory.unified_memory",
            "Memory.arecall",
            traced(tools.memory_operation(tel, "query"), is_async=True),
        ),
        ("crewai.flow.runtime", "Flow.kickoff_async", traced(run.flow_kickoff(tel), is_async=True)),
        (
            "crewai.flow.runtime",
            "Flow._execute_method",
            traced(run.flow_method(tel), is_async=True),
        ),
    ]
    response = passthrough_wrapper(before=llm.response_read)
    for module, path in RESPONSE_READERS:
        table.append((module, path, response))
    call, acall = traced(llm.llm_call(tel)), traced(llm.llm_call(tel), is_async=True)
    for module, cls in PROVIDERS:
        table.append((module, f"{cls}.call", call))
        table.append((module, f"{cls}.acall", acall))
    return table


def _owner(module: str, path: str) -> tuple[Any, str]:
    obj: Any = importlib.import_module(module)
    *parents, attr = path.split(".")
    for name in parents:
        obj = getattr(obj, name)
    return obj, attr


class Patcher:
    """Applies the table and remembers exactly what it patched, to undo it."""

    def __init__(self) -> None:
        self._applied: list[tuple[Any, str]] = []

    def apply(self, tel: Telemetry) -> None:
        seen: set[tuple[int, str]] = set()
        for module, path, wrapper in targets(tel):
            try:
                owner, attr = _owner(module, path)
            except Exception:  # an optional provider SDK may fail to import in any way
                logger.debug("crewscope: skipping %s.%s", module, path, exc_info=True)
                continue
            if attr not in vars(owner) or (id(owner), attr) in seen:
                continue  # inherited: patching the parent covers it
            seen.add((id(owner), attr))
            wrap_function_wrapper(owner, attr, wrapper)
            self._applied.append((owner, attr))
        self._patch_custom_llms(tel, seen)

    def _patch_custom_llms(self, tel: Telemetry, seen: set[tuple[int, str]]) -> None:
        """User subclasses of BaseLLM defined before instrument() have their own ``call``
        and ``acall`` (BaseLLM's are abstract / raise NotImplementedError)."""
        try:
            from crewai.llms.base_llm import BaseLLM
        except ImportError:
            return
        sync, is_async = traced(llm.llm_call(tel)), traced(llm.llm_call(tel), is_async=True)
        stack = list(BaseLLM.__subclasses__())
        while stack:
            cls = stack.pop()
            stack.extend(cls.__subclasses__())
            for attr in ("call", "acall"):
                fn = vars(cls).get(attr)
                if fn is None or isinstance(fn, FunctionWrapper) or (id(cls), attr) in seen:
                    continue
                seen.add((id(cls), attr))
                # a sync ``acall`` returning an awaitable is handled by the sync wrapper
                wrapper = is_async if inspect.iscoroutinefunction(fn) else sync
                wrap_function_wrapper(cls, attr, wrapper)
                self._applied.append((cls, attr))

    def undo(self) -> None:
        while self._applied:
            owner, attr = self._applied.pop()
            current = vars(owner).get(attr)
            if isinstance(current, FunctionWrapper):
                setattr(owner, attr, current.__wrapped__)
