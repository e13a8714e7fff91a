"""Run attributes (SPANS.md "Runs") checked against the span tree itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.instrumentation._tree import parent_of

KIND = "crewscope.run.kind"
RUN_ID = "crewscope.run.id"
ROOT_ID = "crewscope.run.root_id"
PARENT_ID = "crewscope.run.parent_id"
METHOD = "crewscope.flow.method"
OURS = ("invoke_workflow", "invoke_agent", "step", "chat", "execute_tool", "memory", "flow_method")


def hex_id(span: Any) -> str:
    return format(span.context.span_id, "016x")


def ancestors(finished: Sequence[Any], span: Any) -> list[Any]:
    """Nearest first; stops at the first parent that did not finish here."""
    ids = {s.context.span_id for s in finished}
    out = []
    while span.parent is not None and span.parent.span_id in ids:
        span = parent_of(finished, span)
        out.append(span)
    return out


def run_spans(finished: Sequence[Any]) -> list[Any]:
    return sorted((s for s in finished if KIND in s.attributes), key=lambda s: s.start_time)


def check_run_attributes(finished: Sequence[Any]) -> list[Any]:
    """Every run and every crewscope span inside one carries ids that match the tree;
    returns the run spans in start order."""
    runs = run_spans(finished)
    assert runs, "no run spans"
    for run in runs:
        a = run.attributes
        assert a[KIND] in ("flow", "crew", "agent")
        assert a[RUN_ID] == hex_id(run) and len(a[RUN_ID]) == 16
        outer = [s for s in ancestors(finished, run) if KIND in s.attributes]
        if not outer:
            assert PARENT_ID not in a and a[ROOT_ID] == a[RUN_ID], run.name
            assert METHOD not in a, run.name
            continue
        parent = outer[0]
        assert a[PARENT_ID] == hex_id(parent), run.name
        assert a[ROOT_ID] == parent.attributes[ROOT_ID] == hex_id(outer[-1]), run.name
        methods = [s for s in ancestors(finished, run) if s.name.startswith("flow_method ")]
        if parent.attributes[KIND] == "flow":
            assert a[METHOD] == methods[0].attributes["crewai.flow.method"], run.name
        else:
            assert METHOD not in a, run.name
    assert len({r.attributes[RUN_ID] for r in runs}) == len(runs), "run ids are not unique"
    for span in finished:
        if KIND in span.attributes:
            continue
        outer = [s for s in ancestors(finished, span) if KIND in s.attributes]
        if span.name.split(" ")[0] not in OURS:
            assert RUN_ID not in span.attributes, span.name  # the caller's own span
            continue
        assert outer, f"{span.name} is outside every run"
        assert span.attributes[RUN_ID] == hex_id(outer[0]), span.name
        assert span.attributes[ROOT_ID] == hex_id(outer[-1]), span.name
        assert PARENT_ID not in span.attributes and KIND not in span.attributes, span.name
    return runs
