"""Loading the query files in ``query_api/store/sql/`` (one query per file, read once)."""

from __future__ import annotations

from functools import cache
from importlib import resources

LLM_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")
"""gen_ai.operation.name values of LLM-call spans: the spans that carry tokens and CostUsd."""


@cache
def load_sql(name: str) -> str:
    """The text of ``query_api/store/sql/<name>``."""
    return resources.files("crewscope.query_api.store").joinpath("sql", name).read_text("utf-8")


def range_params(sql: str, lo: int, hi: int) -> dict[str, object]:
    """Parameters of a projection query over the spans with rowid in [lo, hi]."""
    params: dict[str, object] = {"lo": lo, "hi": hi}
    if "$llm_ops" in sql:
        params["llm_ops"] = list(LLM_OPERATIONS)
    return params
