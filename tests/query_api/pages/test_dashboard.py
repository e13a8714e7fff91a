"""The dashboard page rendered by a real headless Chromium against a real uvicorn server."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from crewscope.query_api import create_app
from crewscope.query_api.dates import utcnow
from tests.helpers.seed import seed_database
from tests.helpers.served import serve_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (scripts/test.sh installs it as root)"
)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip


def test_dashboard_renders_in_chromium(tmp_path: Path) -> None:
    db = str(tmp_path / "dash.duckdb")
    seeded = seed_database(db, utcnow(), n_runs=12)
    app = create_app(db, rollup_interval_s=0, retention_days=None)
    server, thread, port = serve_app(app)
    try:
        url = f"http://127.0.0.1:{port}/dashboard"
        dom = _chromium("--dump-dom", url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        html = dom.stdout
        assert "crewscope" in html.lower()
        agents = {spec.agent for spec in seeded.tasks()}
        assert agents and all(agent in html for agent in agents)
        shot = tmp_path / "dashboard.png"
        result = _chromium("--window-size=1280,1600", f"--screenshot={shot}", url)
        assert result.returncode == 0, result.stderr[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    finally:
        server.should_exit = True
        thread.join(15)
