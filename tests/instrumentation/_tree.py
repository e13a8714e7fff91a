"""Helpers to read a finished span list as a tree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def by_name(spans: Sequence[Any], prefix: str) -> list[Any]:
    return sorted((s for s in spans if s.name.startswith(prefix)), key=lambda s: s.start_time)


def children(spans: Sequence[Any], parent: Any) -> list[Any]:
    pid = parent.context.span_id
    return sorted(
        (s for s in spans if s.parent is not None and s.parent.span_id == pid),
        key=lambda s: s.start_time,
    )


def parent_of(spans: Sequence[Any], span: Any) -> Any:
    assert span.parent is not None, f"{span.name} has no parent"
    matches = [s for s in spans if s.context.span_id == span.parent.span_id]
    assert matches, f"parent of {span.name} is not among the finished spans"
    return matches[0]


def shape(spans: Sequence[Any], root: Any, depth: int = 0) -> list[str]:
    """Indented names, children in start order: a readable picture of the tree."""
    out = ["  " * depth + root.name]
    for child in children(spans, root):
        out.extend(shape(spans, child, depth + 1))
    return out


def roots(spans: Sequence[Any]) -> list[Any]:
    return [s for s in spans if s.parent is None]


def tokens(span: Any) -> tuple[int, int]:
    return (
        int(span.attributes.get("gen_ai.usage.input_tokens", 0)),
        int(span.attributes.get("gen_ai.usage.output_tokens", 0)),
    )
