"""Overview (/): period totals, runs chart, agents with issues, recent runs, as the API says."""

from __future__ import annotations

from urllib.parse import quote

from tests.helpers.browser import GuardedPage, assert_fields
from tests.ui.conftest import Api, ServedUi

PERIOD_FIELDS = ("runs", "failed_runs", "success_rate", "input_tokens", "output_tokens", "cost_usd")


def test_periods_are_the_dashboard_totals(ui: GuardedPage, api: Api) -> None:
    ui.goto("/", "overview")
    totals = {p["period"]: p for p in api.get("/dashboard")["totals"]}
    assert set(totals) == {"24h", "7d", "30d"}
    # the generated runs spread over ~11 days: the three periods really differ
    assert totals["24h"]["runs"] < totals["7d"]["runs"] < totals["30d"]["runs"]
    assert set(ui.values("[data-testid=period]", "data-period")) == set(totals)
    for period, p in totals.items():
        scope = f'[data-testid=period][data-period="{period}"]'
        assert_fields(ui, scope, {f: p[f] for f in PERIOD_FIELDS}, f"period {period}")
    ui.screenshot("overview")
    ui.assert_clean()


def test_runs_chart_is_drawn(ui: GuardedPage) -> None:
    ui.goto("/", "overview")
    canvas = ui.page.wait_for_selector("[data-testid=chart-runs] canvas")
    box = canvas.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 50
    ui.assert_clean()


def test_agents_with_issues_and_recent_runs(ui: GuardedPage, api: Api) -> None:
    ui.goto("/", "overview")
    dash = api.get("/dashboard")
    issues = [a["agent"] for a in dash["agents_with_issues"]]
    assert issues, "the generated data has failing agents"
    shown = ui.values("[data-testid=agents-with-issues] [data-agent]", "data-agent")
    assert shown == issues
    for name in issues:
        link = ui.page.query_selector(f'[data-testid=agents-with-issues] [data-agent="{name}"] a')
        assert link is not None and link.get_attribute("href") == "/agents/" + quote(name, safe="")
    recent = api.get("/runs", limit=10)["runs"]
    rows = ui.values("table[data-testid=recent-runs] tbody tr[data-run-id]", "data-run-id")
    assert rows == [r["run_id"] for r in recent]
    first = recent[0]
    link = ui.page.query_selector(
        f'table[data-testid=recent-runs] tr[data-run-id="{first["run_id"]}"] td[data-field=name] a'
    )
    assert link is not None and link.get_attribute("href") == f"/runs/{first['run_id']}"
    link.click()  # client-side navigation to the run
    ui.wait_view("run")
    assert ui.page.url.endswith(f"/runs/{first['run_id']}")
    ui.assert_clean()


def test_dashboard_address_redirects_to_the_overview(ui: GuardedPage, served_ui: ServedUi) -> None:
    ui.goto("/dashboard", "overview")
    assert ui.page.url == served_ui.url + "/"
    ui.assert_clean()
