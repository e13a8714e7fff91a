"""The one table of CrewAI patch points (see CREWAI_PATCHPOINTS.md), and apply/undo."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from wrapt import FunctionWrapper, wrap_function_wrapper

from crewscope.instrumentation import _agent_wrappers as agents
from crewscope.instrumentation import _flow_wrappers as flow
from crewscope.instrumentation import _llm_wrappers as llm
from crewscope.instrumentation import _run_wrappers as run
from crewscope.instrumentation import _tool_wrappers as tools
from crewscope.instrumentation._background import save_submitted
from crewscope.instrumentation._spans import Telemetry, Wrapper, passthrough_wrapper, traced
from crewscope.instrumentation._state import TOOL

logger = logging.getLogger(__name__)


class Target(NamedTuple):
    """One patch point: ``module:path`` (``Class.method`` or a module global) and its wrapper."""

    module: str
    path: str
    wrapper: Wrapper
    optional: bool = False
    """May be absent (a provider SDK that is not installed, a private helper that only adds
    data) and is then skipped at debug level. A required target that is missing loses a
    kind of span: a warning names it, once per process."""


# Each provider class has its own ``call``/``acall`` (BaseLLM.call is abstract), and the
# provider modules are optional: Anthropic/Gemini/Bedrock/Azure raise ImportError without
# their SDKs, so each is patched only if it imports. (module, class, optional)
PROVIDERS = (
    ("crewai.llms.providers.openai.completion", "OpenAICompletion", False),
    ("crewai.llms.providers.anthropic.completion", "AnthropicCompletion", True),
    ("crewai.llms.providers.gemini.completion", "GeminiCompletion", True),
    ("crewai.llms.providers.azure.completion", "AzureCompletion", True),
    ("crewai.llms.providers.bedrock.completion", "BedrockCompletion", True),
    ("crewai.llm", "LLM", False),  # litellm fallback
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
    """Every patch point with its wrapper, built for ``tel``."""
    usage = passthrough_wrapper(before=llm.usage_tracked)
    table = [
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
        # delegation: the coworker runs in Agent.execute_task inside the delegation tool; in a
        # task, each execute_task is one agent execution (guardrail / error retries: more)
        ("crewai.agent.core", "Agent.execute_task", run.agent_execution(tel)),
        ("crewai.agent.core", "Agent.aexecute_task", run.async_agent_execution),
        (
            "crewai.tools.agent_tools.base_agent_tools",
            "BaseAgentTool._execute",
            run.delegation_marker,
        ),
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
        # a save runs on CrewAI's memory-save thread, often after its task returned
        ("crewai.memory.unified_memory", "Memory._submit_save", save_submitted),
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
        (
            "crewai.flow.runtime",
            "Flow.kickoff_async",
            traced(flow.flow_kickoff(tel), is_async=True),
        ),
        (
            "crewai.flow.runtime",
            "Flow._execute_method",
            traced(flow.flow_method(tel), is_async=True),
        ),
    ]
    out = [Target(module, path, wrapper) for module, path, wrapper in table]
    bedrock_usage = "BedrockCompletion._track_token_usage_internal"  # Bedrock overrides it
    out.append(Target("crewai.llms.providers.bedrock.completion", bedrock_usage, usage, True))
    response = passthrough_wrapper(before=llm.response_read)
    out.extend(Target(module, path, response, True) for module, path in RESPONSE_READERS)
    call, acall = traced(llm.llm_call(tel)), traced(llm.llm_call(tel), is_async=True)
    for module, cls, optional in PROVIDERS:
        out.append(Target(module, f"{cls}.call", call, optional))
        out.append(Target(module, f"{cls}.acall", acall, optional))
    return out


_WARNED: set[str] = set()  # required targets already reported missing


def _crewai_version() -> str:
    try:
        return importlib.metadata.version("crewai")
    except importlib.metadata.PackageNotFoundError:
        return "(unknown version)"


def _owner(module: str, path: str) -> tuple[Any, str]:
    obj: Any = importlib.import_module(module)
    *parents, attr = path.split(".")
    for name in parents:
        obj = getattr(obj, name)
    return obj, attr


def _resolve(target: Target) -> tuple[Any, str] | None:
    """The class or module that holds the target, or None (logged) if it is missing."""
    try:
        owner, attr = _owner(target.module, target.path)
        if hasattr(owner, attr):
            return owner, attr
        problem = f"{target.path} not found"
    # Catching everything is the point: an optional provider SDK may fail to import in
    # any way, and instrument() must not fail because of it.
    except Exception as exc:  # noqa: BLE001
        problem = f"{type(exc).__name__}: {exc}"
    where = f"{target.module}:{target.path}"
    if target.optional:
        logger.debug("crewscope: skipping optional patch target %s (%s)", where, problem)
    elif where not in _WARNED:
        _WARNED.add(where)
        logger.warning(
            "crewscope: CrewAI %s has no %s (%s); the spans or data it gives are not "
            "recorded. Is this CrewAI version supported?",
            _crewai_version(),
            where,
            problem,
        )
    return None


class Patcher:
    """Applies the table and remembers exactly what it patched, to undo it."""

    def __init__(self) -> None:
        self._applied: list[tuple[Any, str]] = []
        self._seen: set[tuple[int, str]] = set()

    def apply(self, tel: Telemetry) -> None:
        """Patch every target and the user's own LLM classes."""
        self.patch(targets(tel))
        self._patch_custom_llms(tel)

    def patch(self, table: Iterable[Target]) -> None:
        for target in table:
            found = _resolve(target)
            if found is None:
                continue
            owner, attr = found
            if attr not in vars(owner) or (id(owner), attr) in self._seen:
                continue  # inherited: patching the parent covers it
            self._seen.add((id(owner), attr))
            wrap_function_wrapper(owner, attr, target.wrapper)
            self._applied.append((owner, attr))

    def _patch_custom_llms(self, tel: Telemetry) -> None:
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
                if fn is None or isinstance(fn, FunctionWrapper) or (id(cls), attr) in self._seen:
                    continue
                self._seen.add((id(cls), attr))
                # a sync ``acall`` returning an awaitable is handled by the sync wrapper
                wrapper = is_async if inspect.iscoroutinefunction(fn) else sync
                wrap_function_wrapper(cls, attr, wrapper)
                self._applied.append((cls, attr))

    def undo(self) -> None:
        self._seen.clear()
        while self._applied:
            owner, attr = self._applied.pop()
            current = vars(owner).get(attr)
            if isinstance(current, FunctionWrapper):
                setattr(owner, attr, current.__wrapped__)
