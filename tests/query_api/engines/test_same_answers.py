"""Every ported endpoint answers the same on DuckDB and on ClickHouse for the same spans."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.helpers.served import API
from tests.query_api.engines.conftest import Engines


def _close(a: Any, b: Any, where: str = "") -> None:
    """Equal JSON, floats to 1e-9 relative (the engines sum in different orders)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, f"{where}: {a!r} != {b!r}"
        assert math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12), f"{where}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def both(engines: Engines, path: str, **params: Any) -> tuple[Any, Any]:
    d = engines.duckdb.get(API + path, params=params)
    c = engines.clickhouse.get(API + path, params=params)
    assert d.status_code == 200, d.text
    assert c.status_code == d.status_code, c.text
    return d.json(), c.json()


RUN_LISTS = [
    {},
    {"status": "failed"},
    {"sort": "cost_usd", "order": "asc"},
    {"sort": "total_tokens"},
    {"sort": "name", "order": "asc"},
    {"q": "flaky"},
    {"limit": 1, "offset": 1},
    {"crew": "research_crew"},
]


@pytest.mark.parametrize(
    "params", RUN_LISTS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "all"
)
def test_run_lists(engines: Engines, params: dict[str, Any]) -> None:
    d, c = both(engines, "/runs", **params)
    assert d["total"] > 0 or params
    _close(d, c, "runs")


def test_spans_copied(engines: Engines) -> None:
    d, _ = both(engines, "/runs")
    assert engines.spans > 20 and d["total"] == 4  # three crews and one flow


TASK_LISTS = [{}, {"status": "failed"}, {"crew": "flaky_crew"}, {"limit": 2, "offset": 1}]


@pytest.mark.parametrize(
    "params", TASK_LISTS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "all"
)
def test_task_lists(engines: Engines, params: dict[str, Any]) -> None:
    d, c = both(engines, "/tasks", **params)
    _close(d, c, "tasks")
