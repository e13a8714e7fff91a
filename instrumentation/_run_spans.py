"""A run unit's span: the run ids it stamps and the totals of the LLM and tool calls beneath.

A run span (user flow kickoff, crew kickoff, standalone ``Agent.kickoff``) stamps
``crewscope.run.*`` at its start (`stamp_run`) and puts its id into ``RUN_INFO``, so every
span started beneath it, on any thread CrewAI hops to, copies the ids of its nearest
enclosing run and of the top-level run (``RunInfo.attributes``). Every unit of a run (those,
and a task) is a `RunSpan`: its token and call totals are summed from the spans beneath.
"""

from __future__ import annotations

from contextvars import Token
from typing import Any

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation import _content as C
from crewscope.instrumentation._background import end_when_done
from crewscope.instrumentation._spans import SpanHandle, Telemetry, reset_var
from crewscope.instrumentation._state import (
    ATTEMPT,
    ATTEMPTS,
    RUN_INFO,
    TOTALS,
    Attempts,
    RunInfo,
    Totals,
)


def stamp_run(span: Span, kind: str, outer: RunInfo) -> tuple[str, str]:
    """Stamp the run attributes on a run span started under ``outer``; return its
    (run id, root id) for the spans beneath it.

    The id is the span's own id (hex, as stored); a run under another run (a crew run in a
    flow run, a crew kicked off by a tool) is nested: same root, parent = ``outer``'s run.
    """
    run_id = A.span_id_hex(span.get_span_context().span_id)
    root_id = outer.root_id or outer.run_id or run_id
    if span.is_recording():
        attrs: dict[str, AttributeValue] = {
            A.RUN_KIND: kind,
            A.RUN_ID: run_id,
            A.RUN_ROOT_ID: root_id,
        }
        if outer.run_id:
            attrs[A.RUN_PARENT_ID] = outer.run_id
        if outer.flow_method:
            attrs[A.RUN_FLOW_METHOD] = outer.flow_method
        span.set_attributes(attrs)
    return run_id, root_id


class RunSpan(SpanHandle):
    """A unit of the run (crew, task, standalone agent, flow): the token and call totals of
    the chat and tool spans beneath it, an output preview, OK status on success."""

    __slots__ = (
        "_attempt_token",
        "_attempts_token",
        "_chain",
        "_info",
        "_info_token",
        "_tel",
        "_totals_token",
        "attempts",
        "totals",
    )

    ok_status = True
    first_attempt: int | None = None
    """The attempt number of the steps right beneath this span (see ``agent_execution``)."""

    def __init__(self, tel: Telemetry, span: Span, info: RunInfo | None) -> None:
        super().__init__(span)
        self._tel = tel
        self.totals = Totals()
        self.attempts: Attempts | None = None  # task spans: their agent executions
        self._info = info  # None: the names of the enclosing units stay as they are
        self._chain = (*TOTALS.get(), self.totals)
        self._info_token: Token[RunInfo] | None = None
        self._totals_token: Token[tuple[Totals, ...]] | None = None
        self._attempts_token: Token[Attempts | None] | None = None
        self._attempt_token: Token[int | None] | None = None

    def set_context(self) -> None:
        if self._info is not None:
            self._info_token = RUN_INFO.set(self._info)
        self._totals_token = TOTALS.set(self._chain)
        # a run inside a task (a crew or agent kicked off by a tool) counts no attempts of it
        self._attempts_token = ATTEMPTS.set(self.attempts)
        self._attempt_token = ATTEMPT.set(self.first_attempt)

    def reset_context(self) -> None:
        reset_var(ATTEMPT, self._attempt_token)
        reset_var(ATTEMPTS, self._attempts_token)
        reset_var(TOTALS, self._totals_token)
        reset_var(RUN_INFO, self._info_token)

    def on_finish(self, result: Any) -> bool:
        capture = self._tel.capture
        if capture.enabled and result is not None:
            self._tel.content(self.span, {A.OUTPUT_PREVIEW: C.output_preview(capture, result)})
        return False

    def _close(self, keep_open: bool, end_time: int | None = None) -> None:
        # background work beneath (memory saves, `_background`) holds the end back
        pending = [] if keep_open or end_time is not None else self.totals.take_pending()
        if pending:
            end_when_done(pending, lambda end_ns: self._close(False, end_ns))
        else:
            super()._close(keep_open, end_time)

    def on_exit(self) -> None:
        totals = self.totals
        self.span.set_attributes(
            {
                A.INPUT_TOKENS: totals.input_tokens,
                A.OUTPUT_TOKENS: totals.output_tokens,
                A.LLM_CALLS: totals.llm_calls,
                A.TOOL_CALLS: totals.tool_calls,
            }
        )
