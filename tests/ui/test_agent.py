"""Agent detail (/agents/{agent}): GET /agents/{agent}/metrics for the chosen range (in the
URL), charts, top errors, daily rollups and the runs the agent worked in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from tests.helpers.browser import GuardedPage, assert_fields, same_number
from tests.ui.conftest import Api

STATS = "[data-testid=agent-stats]"


def stats_of(metrics: dict[str, Any]) -> dict[str, Any]:
    times = metrics["execution_times"]
    return {
        "executions": metrics["total_executions"],
        "success_rate": metrics["success_rate"],
        "error_rate": metrics["error_rate"],
        "p50_ms": times["p50_ms"],
        "p95_ms": times["p95_ms"],
        "p99_ms": times["p99_ms"],
        "input_tokens": metrics["input_tokens"],
        "output_tokens": metrics["output_tokens"],
        "cost_usd": metrics["cost_usd"],
    }


def agent_path(name: str) -> str:
    return "/agents/" + quote(name, safe="")


def test_stats_follow_the_range(ui: GuardedPage, api: Api) -> None:
    name = "Researcher"  # generated runs over ~11 days and the demo crew's runs today
    path = agent_path(name) + "/metrics"
    week, month = api.get(path, time_range="7d"), api.get(path, time_range="30d")
    assert week["total_executions"] < month["total_executions"]
    ui.goto(agent_path(name), "agent")
    assert_fields(ui, STATS, stats_of(week), f"{name} 7d (the default)")
    ui.page.select_option("select[name=range]", "30d")
    ui.page.wait_for_function("() => new URL(location.href).searchParams.get('range') === '30d'")
    ui.wait_view("agent")
    ui.page.wait_for_function(
        "([sel, n]) => document.querySelector(sel)?.dataset.value === String(n)",
        arg=[f"{STATS} [data-field=executions]", month["total_executions"]],
        timeout=8000,
    )
    assert_fields(ui, STATS, stats_of(month), f"{name} 30d")
    # the address restores the range
    ui.goto(agent_path(name) + "?range=30d", "agent")
    assert ui.page.input_value("select[name=range]") == "30d"
    assert_fields(ui, STATS, stats_of(month), f"{name} 30d from the URL")
    ui.assert_clean()


def test_charts_errors_rollups_and_runs(ui: GuardedPage, api: Api) -> None:
    name = "Analyst"  # fails in a third of the generated runs
    metrics = api.get(agent_path(name) + "/metrics", time_range="30d")
    assert metrics["top_errors"]
    ui.goto(agent_path(name) + "?range=30d", "agent")
    for chart in ("chart-latency", "chart-executions"):
        canvas = ui.page.wait_for_selector(f"[data-testid={chart}] canvas", timeout=5000)
        assert canvas is not None
        box = canvas.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, chart
    errors = ui.page.query_selector_all("[data-testid=top-errors] li")
    assert len(errors) == len(metrics["top_errors"])
    for li, err in zip(errors, metrics["top_errors"], strict=True):
        counted = li.query_selector("[data-value]")
        assert counted is not None and counted.get_attribute("data-value") == str(err["count"])
        assert err["error"][:60] in li.inner_text()

    today = datetime.now(timezone.utc).date()
    rollups = api.get(
        "/rollups/daily",
        group_by="agent",
        agent=name,
        date_from=(today - timedelta(days=29)).isoformat(),
        date_to=today.isoformat(),
        limit=100,
    )["rows"]
    assert rollups
    rows = ui.page.query_selector_all("table[data-testid=rollups] tbody tr")
    assert len(rows) == len(rollups)
    by_day = {r["day"]: r for r in rollups}
    for row in rows:
        day = row.get_attribute("data-day")
        assert day in by_day, day
        cell = row.query_selector("[data-field=executions]")
        assert cell and same_number(cell.get_attribute("data-value"), by_day[day]["executions"])

    tasks = api.get("/tasks", agent=name, limit=100)
    assert tasks["total"] <= 100
    worked_in = {t["run_id"] for t in tasks["tasks"]}
    expected = [r["run_id"] for r in api.all_runs() if r["run_id"] in worked_in][:10]
    shown = ui.values("table[data-testid=recent-runs] tbody tr[data-run-id]", "data-run-id")
    assert shown == expected
    ui.screenshot("agent")
    more = ui.page.query_selector("a[href^='/runs?agent=']")
    assert more is not None
    assert parse_qs(urlsplit(more.get_attribute("href") or "").query) == {"agent": [name]}
    ui.assert_clean()
