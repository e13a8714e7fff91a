"""Usage (/usage): models, agents, tools, HTTP endpoints and health as GET /llm, /tools,
/endpoints and /system/health answer for the chosen range."""

from __future__ import annotations

from typing import Any

from tests.helpers.browser import GuardedPage, assert_fields
from tests.ui.conftest import Api


def check_tables(ui: GuardedPage, api: Api, range_: str) -> None:
    llm = api.get("/llm", time_range=range_)
    tools = api.get("/tools", time_range=range_)["tools"]
    endpoints = api.get("/endpoints", time_range=range_)["endpoints"]
    models = ui.values("table[data-testid=models] tbody tr[data-model]", "data-model")
    assert models == [m["model"] or "" for m in llm["by_model"]]
    for m in llm["by_model"]:
        assert_fields(
            ui,
            f'table[data-testid=models] tr[data-model="{m["model"] or ""}"]',
            {k: m[k] for k in ("calls", "errors", "input_tokens", "output_tokens", "cost_usd")},
            f"model {m['model']} {range_}",
        )
    agents = ui.values("table[data-testid=agents-usage] tbody tr[data-agent]", "data-agent")
    assert agents == [a["agent"] or "" for a in llm["by_agent"]]
    for a in llm["by_agent"]:
        assert_fields(
            ui,
            f'table[data-testid=agents-usage] tr[data-agent="{a["agent"] or ""}"]',
            {k: a[k] for k in ("calls", "input_tokens", "output_tokens", "cost_usd")},
            f"agent {a['agent']} {range_}",
        )
    assert ui.values("table[data-testid=tools] tbody tr[data-tool]", "data-tool") == [
        t["tool"] for t in tools
    ]
    for t in tools:
        assert_fields(
            ui,
            f'table[data-testid=tools] tr[data-tool="{t["tool"]}"]',
            {k: t[k] for k in ("calls", "errors", "avg_ms", "p95_ms")},
            f"tool {t['tool']} {range_}",
        )
    rows = ui.page.query_selector_all("table[data-testid=endpoints] tbody tr")
    assert len(rows) == len(endpoints)
    for row, e in zip(rows, endpoints, strict=True):
        assert e["route"] in row.inner_text()
        assert_fields(
            ui,
            row,
            {k: e[k] for k in ("requests", "client_errors", "server_errors", "p99_ms")},
            f"endpoint {e['route']}",
        )


def test_tables_are_the_api(ui: GuardedPage, api: Api) -> None:
    ui.goto("/usage", "usage")  # default range 7d
    tools: list[dict[str, Any]] = api.get("/tools", time_range="7d")["tools"]
    assert any(t["errors"] > 0 for t in tools)  # the broken word counter, generated failures
    assert api.get("/endpoints", time_range="7d")["endpoints"]  # generated HTTP server spans
    check_tables(ui, api, "7d")
    health = api.get("/system/health")
    components = ui.values("[data-testid=health] [data-component]", "data-component")
    assert components == [c["name"] for c in health["service_statuses"]]
    ui.screenshot("usage")
    ui.assert_clean()


def test_range_in_the_url(ui: GuardedPage, api: Api) -> None:
    week = api.get("/llm", time_range="7d")["by_model"]
    day = api.get("/llm", time_range="1d")["by_model"]
    assert sum(m["calls"] for m in day) < sum(m["calls"] for m in week)
    ui.goto("/usage", "usage")
    ui.page.select_option("select[name=range]", "1d")
    ui.page.wait_for_function("() => new URL(location.href).searchParams.get('range') === '1d'")
    ui.page.wait_for_function(
        "(n) => [...document.querySelectorAll('table[data-testid=models] [data-field=calls]')]"
        ".reduce((s, c) => s + +c.dataset.value, 0) === n",
        arg=sum(m["calls"] for m in day),
        timeout=8000,
    )
    ui.wait_view("usage")
    check_tables(ui, api, "1d")
    ui.goto("/usage?range=30d", "usage")
    assert ui.page.input_value("select[name=range]") == "30d"
    check_tables(ui, api, "30d")
    ui.assert_clean()
