"""The web UI with access control, in headless Chromium: a page opened without a token is
the sign-in form; once signed in, the views show the token's tenant's runs only, the live
feed connects, and signing out ends it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.browser import GuardedPage, launch, require_chromium
from tests.query_api.access.conftest import TEAM_A, TEAM_B, TOKENS, TenantServer


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    require_chromium()
    with launch() as browser:
        yield browser


def _sign_in(ui: GuardedPage, path: str, token: str) -> None:
    ui.page.goto(ui.base_url + path)
    ui.page.wait_for_selector("main.sign-in form")
    ui.page.fill("#token", token)
    ui.page.click("button[type=submit]")


def test_sign_in_then_only_the_tenants_runs(chromium: Any, tenant_server: TenantServer) -> None:
    ui = GuardedPage.open(chromium, tenant_server.url)
    ui.allow_console(r"401")  # the first page load, before signing in
    try:
        _sign_in(ui, "/runs", "not-a-valid-token-at-all")
        ui.page.wait_for_selector("main.sign-in .error")
        ui.screenshot("sign-in")
        assert "not valid" in ui.page.inner_text("main.sign-in .error")
        ui.page.fill("#token", TOKENS["a"])
        ui.page.click("button[type=submit]")
        ui.wait_view("runs")
        assert ui.page.url.endswith("/runs")
        text = ui.page.inner_text("main#view")
        assert TEAM_A.crew in text and TEAM_B.crew not in text
        ui.page.wait_for_selector('[data-testid="session"]')
        assert TEAM_A.tenant in ui.page.inner_text('[data-testid="session"]')
        ui.page.wait_for_selector('[data-testid="live-status"][data-status="live"]')
        run_id = tenant_server.runs[TEAM_A.tenant][0]["run_id"]
        ui.goto(f"/runs/{run_id}", "run")
        assert TEAM_A.role in ui.page.inner_text("main#view")
        ui.goto("/agents", "agents")
        agents = ui.page.inner_text("main#view")
        assert TEAM_A.role in agents and TEAM_B.role not in agents
        ui.screenshot("signed-in-runs")
        # another tenant's run by its link is not found, and shows nothing of it
        other = tenant_server.runs[TEAM_B.tenant][0]["run_id"]
        ui.allow_console(r"404")
        ui.goto(f"/runs/{other}", "run", state="error")
        assert TEAM_B.crew not in ui.page.inner_text("main#view")
        ui.page.click('[data-testid="session"] button')
        ui.page.wait_for_selector("main.sign-in form")
        ui.page.goto(ui.base_url + "/runs")
        ui.page.wait_for_selector("main.sign-in form")  # signed out: the form again
        ui.assert_clean()
    finally:
        ui.close()
