"""The README's main job in a fresh venv: what `scripts/demo.sh` installs, and nothing more.

`scripts/demo.sh` installs crewscope with the extras it names (today ``crewai,server``:
the demo crews, then `crewscope serve`), not ``clickhouse``. This venv is built from those
extras alone (read from the script, so the two cannot drift), then the script's two
commands run in it: `crewscope demo --db FILE` and `crewscope serve --db FILE`. The server
must start and answer the API and the web UI over the demo's runs; the ClickHouse client is
not installed (`crewscope serve` once failed to start without it).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.fresh_venv import (
    BUILD_TIMEOUT,
    REPO,
    app_env,
    checkout_venv,
    copy_sources,
    pip,
    run,
)
from tests.helpers.served import API, free_port, wait_until

DEMO_SCRIPT = REPO / "scripts" / "demo.sh"


def demo_extras() -> str:
    """The extras `scripts/demo.sh` installs (``source .../_venv.sh EXTRAS``)."""
    match = re.search(r'_venv\.sh"?\s+([\w,]+)', DEMO_SCRIPT.read_text("utf-8"))
    assert match, "scripts/demo.sh does not install through _venv.sh"
    return match.group(1)


@pytest.fixture(scope="module")
def demo_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    src = copy_sources(tmp_path_factory.mktemp("demo-install"))
    extras = demo_extras()
    yield checkout_venv(f"demo-{extras.replace(',', '-')}", src,
                        lambda v: pip(v, "install", f"{src}[{extras}]"))  # fmt: skip


def test_demo_script_installs_no_clickhouse_extra() -> None:
    extras = set(demo_extras().split(","))
    assert {"crewai", "server"} <= extras
    assert "clickhouse" not in extras  # else this test would not guard the slim server


@BUILD_TIMEOUT
def test_demo_then_serve_in_a_venv_without_clickhouse(demo_venv: Path, tmp_path: Path) -> None:
    python = str(demo_venv / "bin" / "python")
    absent = run(
        [python, "-I", "-c", "import importlib.util as u; "
         "print([m for m in ('clickhouse_connect', 'chdb') if u.find_spec(m)])"],
        cwd=tmp_path,
    )  # fmt: skip
    assert absent.stdout.strip() == "[]"

    db = str(tmp_path / "crewscope.duckdb")
    crewscope = str(demo_venv / "bin" / "crewscope")
    demo = subprocess.run(
        [crewscope, "demo", "--db", db, "--runs", "2"],
        env=app_env(), cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-4000:]
    assert "3 runs" in demo.stdout  # two crew kickoffs, then the sample flow

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as err:
        serve = subprocess.Popen(
            [crewscope, "serve", "--db", db, "--host", "127.0.0.1", "--port", str(port),
             "--grpc", ""],
            env=app_env(), cwd=tmp_path, stdout=err, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> httpx.Response | None:
            assert serve.poll() is None, f"serve exited:\n{log.read_text()[-4000:]}"
            try:
                return httpx.get(f"{base}{API}/system/health", timeout=5)
            except httpx.TransportError:
                return None

        health = wait_until(healthy, timeout=120, what="crewscope serve")
        assert health.status_code == 200, health.text
        runs = httpx.get(f"{base}{API}/runs", params={"kind": "flow"}, timeout=30).json()
        assert runs["total"] == 1 and runs["runs"][0]["name"] == "BriefingFlow"
        crews = httpx.get(f"{base}{API}/runs", params={"kind": "crew"}, timeout=30).json()
        assert crews["total"] == 2  # the two kickoffs (the flow's crews are its children)
        page = httpx.get(f"{base}/", timeout=30)
        assert page.status_code == 200 and "/ui/app.js" in page.text
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert "Traceback" not in log.read_text()
