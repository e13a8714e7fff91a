"""Agents (/agents): one card per agent with GET /agents (24 hours) totals, the process stats
of GET /metrics/process and the agent's latest activity (GET /agents/{agent}/activity)."""

from __future__ import annotations

from urllib.parse import quote

from tests.helpers.browser import GuardedPage, assert_fields
from tests.ui.conftest import Api

CARD = "[data-testid=agent-card]"


def test_a_card_per_agent_with_the_api_totals(ui: GuardedPage, api: Api) -> None:
    ui.goto("/agents", "agents")
    agents = api.get("/agents", time_range="1d")["agents"]
    assert len(agents) >= 10  # generated and real crews' roles
    assert sorted(v or "" for v in ui.values(CARD, "data-agent")) == sorted(
        a["agent"] for a in agents
    )
    for a in agents:
        scope = f'{CARD}[data-agent="{a["agent"]}"]'
        assert_fields(
            ui,
            scope,
            {
                "executions": a["total_executions"],
                "input_tokens": a["input_tokens"],
                "output_tokens": a["output_tokens"],
                "cost_usd": a["cost_usd"],
            },
            a["agent"],
        )
        status = ui.page.query_selector(f"{scope} [data-field=status]")
        assert status is not None and status.get_attribute("data-status") == "idle"
        assert status.inner_text().strip() == "idle"
        link = ui.page.query_selector(f"{scope} a[href^='/agents/']")
        assert link is not None and link.get_attribute("href") == "/agents/" + quote(
            a["agent"], safe=""
        )
    ui.screenshot("agents")
    ui.assert_clean()


def test_process_stats_on_the_cards(ui: GuardedPage, api: Api) -> None:
    """The file holds the stats of one process (the instrumented test process)."""
    (proc,) = api.get("/metrics/process")["processes"]
    assert proc["memory_mb"] > 0 and proc["threads"] > 0
    ui.goto("/agents", "agents")
    for name in ("Researcher", "Senior Data Researcher", "Fact Checker"):
        assert_fields(
            ui,
            f'{CARD}[data-agent="{name}"]',
            {"cpu": proc["cpu_percent"], "memory": proc["memory_mb"], "threads": proc["threads"]},
            name,
        )
    ui.assert_clean()


def test_latest_activity_newest_first(ui: GuardedPage, api: Api) -> None:
    ui.goto("/agents", "agents")
    for name in ("Senior Data Researcher", "Researcher", "Crew Manager"):
        activity = api.get(f"/agents/{quote(name, safe='')}/activity", limit=5)["activity"]
        assert activity, name
        items = ui.page.locator(f'{CARD}[data-agent="{name}"] [data-testid=activity] li')
        items.first.wait_for()
        texts = items.all_inner_texts()
        assert len(texts) == len(activity), (name, texts)
        for line, text in zip(activity, texts, strict=True):
            assert line["text"] in text, (name, line, text)
    ui.assert_clean()


def test_an_agent_name_with_spaces_links_to_its_page(ui: GuardedPage) -> None:
    ui.goto("/agents", "agents")
    ui.page.click(f'{CARD}[data-agent="Senior Data Researcher"] h2 a')
    ui.wait_view("agent")
    assert ui.page.url.endswith("/agents/Senior%20Data%20Researcher")
    assert "Senior Data Researcher" in ui.page.inner_text("main#view h1")
    ui.assert_clean()
