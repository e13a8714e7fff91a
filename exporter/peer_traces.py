"""Other instrumentations' spans across a batch and a trace (see `peer_spans` for what a
single span says): agent, task and crew inherited from the enclosing span, a peer's run and
task token totals summed from the LLM calls beneath them, and the few spans already seen
of each trace (a bounded `TraceCache`) for spans that arrive in a later batch."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from crewscope.exporter.operations import LLM_OPERATION_SET
from crewscope.exporter.peer_spans import (
    AGGREGATE_OPERATIONS,
    INVOKE_WORKFLOW,
    Source,
    source_from_scope,
)


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
            and node.operation == INVOKE_WORKFLOW
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
        if node.operation in AGGREGATE_OPERATIONS or node.agent or node.task or node.crew:
            contexts = cache.trace(node.trace_id).contexts
            if len(contexts) < MAX_SPANS_PER_TRACE:
                contexts[node.span_id] = (node.parent_id, node.crew, node.task, node.agent)
    for node in nodes:
        if not _peer(node) or (node.crew and node.task and node.agent):
            continue
        if node.operation == INVOKE_WORKFLOW:
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
            if (
                below is not None
                and below[2]
                and _peer(node)
                and node.operation in AGGREGATE_OPERATIONS
            ):
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
