"""A fresh, empty database: every list view says so and shows how to send data here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.browser import require_chromium
from tests.ui.conftest import ServedUi, start_server


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedUi]:
    require_chromium()
    path = Path(tmp_path_factory.mktemp("ui-empty")) / "empty.duckdb"
    served, stop = start_server(str(path))
    try:
        yield served
    finally:
        stop()


@pytest.mark.parametrize(
    ("path", "view"),
    [("/", "overview"), ("/runs", "runs"), ("/agents", "agents"), ("/usage", "usage")],
)
def test_empty_views_tell_how_to_send_data(
    open_page: Any, empty_server: ServedUi, path: str, view: str
) -> None:
    assert empty_server.api.get("/runs", limit=1)["total"] == 0
    ui = open_page(empty_server.url)
    ui.goto(path, view, state="empty")
    box = ui.page.query_selector("[data-testid=empty]")
    assert box is not None
    text = box.inner_text()
    assert "pip install 'crewscope[crewai,otlp]'" in text
    assert f"OTEL_EXPORTER_OTLP_ENDPOINT={empty_server.url}" in text
    assert "opentelemetry-instrument" in text
    if view == "overview":
        ui.screenshot("empty")
    ui.assert_clean()
