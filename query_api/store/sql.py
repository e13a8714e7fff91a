"""Loading the query files in ``query_api/store/sql/`` (one query per file, read once)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from crewscope.exporter.operations import LLM_OPERATIONS


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
