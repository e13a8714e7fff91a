"""The usage endpoints (/llm, /tools, /memory/stats) answer the same on DuckDB and on
ClickHouse for the same real crew runs, and the LLM tokens are the fake LLM's usage."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.served import API
from tests.query_api.engines.conftest import Engines
from tests.query_api.engines.test_same_answers import _close, both

USAGE = [
    ("/llm", {}),
    ("/llm", {"time_range": "1d"}),
    ("/llm", {"agent": "Researcher"}),
    ("/llm", {"agent": "nobody"}),
    ("/tools", {}),
    ("/tools", {"time_range": "1d", "agent": "Researcher"}),
    ("/tools", {"agent": "nobody"}),
    ("/memory/stats", {}),
    ("/memory/stats", {"agent": "Writer"}),
    ("/memory/stats", {"agent": "nobody"}),
]


@pytest.mark.parametrize(
    ("path", "params"),
    USAGE,
    ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={x}" for k, x in v.items()),
)
def test_usage(engines: Engines, path: str, params: dict[str, Any]) -> None:
    d, c = both(engines, path, **params)
    _close(d, c, path)


def test_llm_tokens_are_the_fake_llms(engines: Engines) -> None:
    ok = [r for r in engines.llm_calls if getattr(r, "status", 200) == 200]
    assert ok
    want_in = sum(r.prompt_tokens for r in ok)
    want_out = sum(r.completion_tokens for r in ok)
    for answer in both(engines, "/llm", time_range="1d"):
        for part in ("by_model", "by_agent"):
            rows = answer[part]
            assert sum(r["input_tokens"] for r in rows) == want_in, part
            assert sum(r["output_tokens"] for r in rows) == want_out, part
        assert sum(m["calls"] for m in answer["by_model"]) >= len(ok)
        assert any(m["cost_usd"] for m in answer["by_model"])


def test_tools_not_empty(engines: Engines) -> None:
    d, c = both(engines, "/tools", time_range="1d")
    tools = {t["tool"]: t for t in c["tools"]}
    assert tools["word_counter"]["calls"] >= 2 and tools["word_counter"]["errors"] >= 1
    assert tools["word_counter"]["p95_ms"] is not None
    _close(d, c, "tools")


AGENT_METRICS = [
    ("Researcher", {}),
    ("Researcher", {"time_range": "1d"}),
    ("Writer", {}),
]


@pytest.mark.parametrize(("agent", "params"), AGENT_METRICS, ids=lambda v: str(v))
def test_agent_metrics(engines: Engines, agent: str, params: dict[str, Any]) -> None:
    d, c = both(engines, f"/agents/{agent}/metrics", **params)
    assert d["total_executions"] > 0
    for answer in (d, c):  # the window ends at each request's now
        answer.pop("window_start"), answer.pop("window_end")
    _close(d, c, agent)


def test_agent_unknown(engines: Engines) -> None:
    for client in (engines.duckdb, engines.clickhouse):
        assert client.get(API + "/agents/nobody/metrics").status_code == 404


@pytest.mark.parametrize("params", [{}, {"time_range": "1d"}], ids=["7d", "1d"])
def test_agent_list(engines: Engines, params: dict[str, Any]) -> None:
    d, c = both(engines, "/agents", **params)
    assert {a["agent"] for a in d["agents"]} >= {"Researcher", "Writer"}
    assert all(a["crew"] for a in c["agents"])
    _close(d, c, "agents")
