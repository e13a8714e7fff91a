"""Agent and task of other instrumentations' spans in a span tree, from their ancestors.

Row conversion gives a peer's span (one tagged with ``crewscope.source``) the agent and task
of its nearest enclosing spans naming them (`exporter.peer_traces`), and the projection sync
fills the LLM, tool and task spans whose enclosing span arrived in a later batch
(`store.late_agents`). The other spans between (a peer's chain or step spans, an HTTP span
under a call) can still be stored without them; a tree shows what row conversion would
have stored had the whole trace come in one batch: for such a span, the first agent and the
first task named on the way up its parents, as stored. Nothing else changes; crewscope's
own spans and the peers' run spans (which have no agent or task) are shown as stored.
"""

from __future__ import annotations

from crewscope.exporter.peer_spans import INVOKE_WORKFLOW, SOURCE_ATTRIBUTE, Source
from crewscope.exporter.peer_traces import MAX_DEPTH
from crewscope.query_api.models.spans import SpanNode


def _peer(node: SpanNode) -> bool:
    source = node.attributes.get(SOURCE_ATTRIBUTE)
    return (
        source is not None
        and source != Source.CREWSCOPE.value
        and node.operation != INVOKE_WORKFLOW
    )


def inherit(nodes: dict[str, SpanNode]) -> None:
    """Fill in place the agent and task of the peer spans in `nodes` (span id -> node, the
    spans of one trace) that name none, from their ancestors among `nodes`."""
    above: dict[str, tuple[str | None, str | None]] = {}
    """span id -> (agent, task) first named strictly above it (stored values)."""

    def from_above(node: SpanNode) -> tuple[str | None, str | None]:
        chain: list[SpanNode] = []  # the spans up to the first whose answer is known
        seen = {node.span_id}
        cur = node
        while cur.span_id not in above and len(chain) < MAX_DEPTH:
            chain.append(cur)
            parent = nodes.get(cur.parent_span_id or "")
            if parent is None or parent.span_id in seen:  # a root, or a cycle in bad data
                above[cur.span_id] = (None, None)
                chain.pop()
                break
            seen.add(parent.span_id)
            cur = parent
        for span in reversed(chain):  # top down: each one's parent is answered
            parent = nodes[span.parent_span_id or ""]
            up = above.get(parent.span_id, (None, None))
            above[span.span_id] = (parent.agent or up[0], parent.task or up[1])
        return above.get(node.span_id, (None, None))

    for node in nodes.values():
        if (node.agent and node.task) or not _peer(node):
            continue
        agent, task = from_above(node)
        node.agent, node.task = node.agent or agent, node.task or task
