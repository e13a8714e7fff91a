"""Firefox ESR (Debian's, headless, through Selenium and geckodriver): every view renders
its data with no JavaScript error and no request off loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.browser import FirefoxSession, firefox, require_firefox
from tests.ui.conftest import FLAKY_CREW, ServedUi


@pytest.fixture(scope="module")
def gecko() -> Iterator[FirefoxSession]:
    driver = require_firefox()
    with firefox(driver) as session:
        yield session


def test_every_view_in_firefox(gecko: FirefoxSession, served_ui: ServedUi) -> None:
    api = served_ui.api
    (flaky,) = api.get("/runs", name=FLAKY_CREW)["runs"]
    (flow,) = api.get("/runs", kind="flow")["runs"]
    views: list[tuple[str, str, str]] = [
        ("/", "overview", "[data-testid=period][data-period='24h']"),
        ("/agents", "agents", "[data-testid=agent-card][data-agent='Researcher']"),
        ("/agents/Senior%20Data%20Researcher", "agent", "[data-testid=agent-stats]"),
        ("/runs?kind=crew&status=failed", "runs", "table[data-testid=runs] tr[data-run-id]"),
        (f"/runs/{flaky['run_id']}", "run", "[data-testid=waterfall] [data-status=error]"),
        (f"/runs/{flow['run_id']}", "run", "[data-testid=waterfall] [data-span-id]"),
        ("/usage", "usage", "table[data-testid=tools] tr[data-tool='word_counter']"),
    ]
    driver: Any = gecko.driver
    for path, view, shows in views:
        driver.get(served_ui.url + path)
        gecko.wait_view(view)
        assert driver.execute_script("return document.querySelectorAll(arguments[0]).length", shows)
    # numbers are the API's here too
    total = api.get("/runs", kind="crew", status="failed", limit=1)["total"]
    driver.get(served_ui.url + "/runs?kind=crew&status=failed")
    gecko.wait_view("runs")
    rows = driver.execute_script(
        "return document.querySelectorAll('table[data-testid=runs] tbody tr[data-run-id]').length"
    )
    assert rows == min(total, 25)
    driver.save_screenshot(str(_artifact("firefox-runs.png")))
    gecko.assert_clean()


def _artifact(name: str) -> Any:
    from tests.helpers.browser import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def test_scripts_build_the_geckodriver_the_tests_look_for() -> None:
    from pathlib import Path

    from tests.helpers.browser import GECKODRIVER_VERSION

    script = (Path(__file__).resolve().parents[2] / "scripts" / "test.sh").read_text()
    assert f"GECKODRIVER_VERSION={GECKODRIVER_VERSION}\n" in script
