"""Which ``gen_ai.operation.name`` values are LLM calls: one definition for the row format.

LLM-call spans are single model calls: they carry the per-call token counts, and only they
are priced (CostUsd). Workflow and agent spans carry token *totals* of the calls beneath
them and are never priced or counted as calls. Every reader of the stored rows (queries,
projections, live feed, Prometheus) takes the definition from here.
"""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GenAiOperationNameValues,
)

LLM_OPERATIONS: tuple[str, ...] = (
    GenAiOperationNameValues.CHAT.value,
    GenAiOperationNameValues.TEXT_COMPLETION.value,
    GenAiOperationNameValues.GENERATE_CONTENT.value,
    GenAiOperationNameValues.EMBEDDINGS.value,
)
"""Operations whose spans are single model calls (semconv ``gen_ai.operation.name``)."""

LLM_OPERATION_SET = frozenset(LLM_OPERATIONS)

EMBEDDINGS_OPERATION: str = GenAiOperationNameValues.EMBEDDINGS.value
"""The one LLM operation billed on its input tokens only (there is no generated text)."""


def is_llm_operation(operation: str | None) -> bool:
    """True for the spans that carry per-call tokens and cost."""
    return operation in LLM_OPERATION_SET
