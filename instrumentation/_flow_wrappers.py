"""User-flow spans: a flow kickoff is a run (`RunSpan`, with the flow's method graph as
``crewscope.flow.graph``), and each of its methods a span whose nested runs note the method
(``crewscope.flow.method``). CrewAI's internal flows (agent executors, memory) are skipped."""

from __future__ import annotations

import logging
from contextvars import Token
from typing import Any

from opentelemetry.trace import Span, SpanKind

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation._run_spans import RunSpan, stamp_run
from crewscope.instrumentation._spans import SpanHandle, StartHook, Telemetry, reset_var
from crewscope.instrumentation._state import RUN_INFO, RunInfo

logger = logging.getLogger(__name__)


def _is_internal(flow: Any) -> bool:
    # AgentExecutor and memory flows are Flows too; they are not the user's workflow.
    return bool(getattr(type(flow), "is_crewai_internal", False))


def flow_kickoff(tel: Telemetry) -> StartHook:
    """``Flow.kickoff_async`` (every kickoff path ends there) for user flows."""

    def start(flow: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RunSpan | None:
        if _is_internal(flow) or getattr(flow, "stream", False) is True:
            # streaming returns at once; the flow runs (stream off) when it is iterated
            return None
        name = A.flow_name(flow)
        inputs = args[0] if args else kwargs.get("inputs")
        attrs = A.clean(
            {
                A.OPERATION: A.OP_WORKFLOW,
                A.WORKFLOW_NAME: name,
                A.FLOW_NAME: name,
                A.CREW_INPUT_KEYS: A.input_keys(inputs),
            }
        )
        span = tel.tracer.start_span(
            f"invoke_workflow {name}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        outer = RUN_INFO.get()
        run_id, root_id = stamp_run(span, A.RUN_FLOW, outer)
        _record_flow_graph(span, flow)
        # the names of enclosing units (a flow kicked off inside a task) stay as they are
        info = RunInfo(
            crew=outer.crew, task=outer.task, agent=outer.agent, run_id=run_id, root_id=root_id
        )
        return RunSpan(tel, span, info)

    return start


def _record_flow_graph(span: Span, flow: Any) -> None:
    """``crewscope.flow.graph`` on the flow run span; left out when the flow's definition
    cannot be read (another CrewAI version, an odd flow): never a failed kickoff."""
    if not span.is_recording():
        return
    try:
        graph = A.flow_graph(flow)
    except Exception:  # telemetry must never raise into the app
        logger.debug("crewscope: could not read the flow definition", exc_info=True)
        return
    if graph is not None:
        span.set_attribute(A.FLOW_GRAPH, graph)


class FlowMethodSpan(SpanHandle):
    """A user-flow method: runs started inside it note the method (``crewscope.flow.method``)."""

    __slots__ = ("_info", "_info_token")

    def __init__(self, span: Span, info: RunInfo) -> None:
        super().__init__(span)
        self._info = info
        self._info_token: Token[RunInfo] | None = None

    def set_context(self) -> None:
        self._info_token = RUN_INFO.set(self._info)

    def reset_context(self) -> None:
        reset_var(RUN_INFO, self._info_token)


def flow_method(tel: Telemetry) -> StartHook:
    """``Flow._execute_method``: one span per user-flow method."""

    def start(flow: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanHandle | None:
        if _is_internal(flow):
            return None
        method = str(args[0] if args else kwargs.get("method_name", "method"))
        info = RUN_INFO.get()
        attrs = info.attributes()
        attrs[A.FLOW_NAME] = A.flow_name(flow)
        attrs[A.FLOW_METHOD] = method
        span = tel.tracer.start_span(
            f"flow_method {method}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        inner = RunInfo(
            crew=info.crew,
            task=info.task,
            agent=info.agent,
            run_id=info.run_id,
            root_id=info.root_id,
            flow_method=method,
        )
        return FlowMethodSpan(span, inner)

    return start
