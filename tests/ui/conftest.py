"""The web UI in a real browser over a real `crewscope serve` app.

One DuckDB file is built per session (``ui_db``): 45 generated crew runs over the last ~11
days (tests/helpers/seed.py: failed tasks, failed tools, an unpriced model, HTTP server
spans) and real instrumented runs against the fake LLM (tests/helpers/projects: a
@CrewBase YAML crew, ``kickoff_for_each`` over three inputs, a flow with a router and two
nested crews, a hierarchical crew, an ``Agent.kickoff`` and the demo crew with a tool that
raises), written by ``configure()`` (spans, metrics and logs in the file) as an app would.
A pristine copy is kept, so a test that adds runs (the live test) serves its own copy.

``served_ui`` serves the file with ``create_app`` under uvicorn on 127.0.0.1 (rollups
refreshed once, background jobs and self-telemetry off so the figures stay put while the
tests read them). ``ui`` is a fresh Chromium page on it (tests/helpers/browser.py): after
the test it must have made requests to loopback only and raised no JavaScript error.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.browser import GuardedPage, launch, require_a_browser, require_chromium
from tests.helpers.served import API, serve_app

SEEDED_RUNS = 45
REAL_RUNS = 8  # research_crew 1, kickoff_for_each 3, content_flow 1, support 1, agent 1, flaky 1
FLAKY_CREW = "flaky_tool_crew"
FLAKY_MESSAGE = "word counter is broken"


@dataclass
class Api:
    """GET the query API of a served app, as JSON."""

    url: str

    def get(self, path: str, **params: Any) -> Any:
        reply = httpx.get(self.url + API + path, params=params, timeout=30)
        assert reply.status_code == 200, f"{path} {params}: {reply.status_code} {reply.text}"
        return reply.json()

    def all_runs(self, **params: Any) -> list[dict[str, Any]]:
        """Every run GET /runs lists with these filters, newest first (all pages)."""
        out: list[dict[str, Any]] = []
        while True:
            page = self.get("/runs", limit=100, offset=len(out), **params)
            out += page["runs"]
            if len(out) >= page["total"] or not page["runs"]:
                return out


@dataclass
class UiDb:
    path: Path
    pristine: Path
    real: dict[str, Any] = field(default_factory=dict)

    def copy(self, to: Path) -> str:
        shutil.copyfile(self.pristine, to)
        return str(to)


def _real_runs(base_url: str, db: str) -> None:
    """The real shapes, instrumented by configure() into `db` (spans, metrics, logs)."""
    from crewscope.demo.crew import build_crew, make_llm, word_counter_tool
    from crewscope.instrumentation.configure import configure
    from tests.helpers.projects import (
        content_flow,
        kickoff_for_each,
        research_crew,
        standalone_agent,
        support_crew,
    )

    telemetry = configure(
        service_name="ui-tests",
        exporters=["duckdb"],
        metrics_exporters=["duckdb"],
        db_path=db,
        set_global=False,
        metrics_interval_millis=500,
        logs=True,
        logs_exporters=["duckdb"],
    )
    try:
        research_crew(base_url)
        kickoff_for_each(base_url)
        content_flow(base_url)
        support_crew(base_url)
        standalone_agent(base_url)
        flaky = build_crew(
            make_llm(base_url, max_retries=0), tool=word_counter_tool(fail=True), name=FLAKY_CREW
        )
        flaky.kickoff(inputs={"topic": "broken tools"})
    finally:
        telemetry.shutdown()  # flushes and releases the file


def in_thread(fn: Callable[..., Any], *args: Any, timeout: float = 240.0) -> Any:
    """`fn(*args)` in a thread of its own, re-raising its exception: Playwright's sync API
    runs an event loop in the test's thread, inside which CrewAI refuses to kick off."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001  (re-raised in the caller)
            out["error"] = exc

    thread = threading.Thread(target=run, name=f"ui-{getattr(fn, '__name__', 'run')}")
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{fn} still running after {timeout} s"
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.fixture(scope="session")
def ui_db(fake_llm: Any, tmp_path_factory: pytest.TempPathFactory) -> UiDb:
    from crewscope.query_api.dates import utcnow
    from tests.helpers.seed import seed_database

    require_a_browser()
    folder = tmp_path_factory.mktemp("ui")
    db = folder / "ui.duckdb"
    seed_database(str(db), utcnow(), n_runs=SEEDED_RUNS)
    fake_llm.reset()  # type: ignore[attr-defined]
    in_thread(_real_runs, fake_llm.base_url, str(db))  # type: ignore[attr-defined]
    pristine = folder / "pristine.duckdb"
    shutil.copyfile(db, pristine)
    return UiDb(db, pristine)


@dataclass
class ServedUi:
    url: str
    db_path: str
    app: Any
    api: Api


def start_server(db_path: str, **kwargs: Any) -> tuple[ServedUi, Callable[[], None]]:
    """`create_app` over `db_path` under uvicorn on 127.0.0.1; returns it and its stop."""
    from crewscope.query_api import create_app

    kwargs.setdefault("rollup_interval_s", 0)
    kwargs.setdefault("retention_days", None)
    kwargs.setdefault("self_telemetry", False)
    app = create_app(db_path, **kwargs)
    server, thread, port = serve_app(app)
    url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        server.should_exit = True
        thread.join(15)

    return ServedUi(url, db_path, app, Api(url)), stop


@pytest.fixture(scope="session")
def served_ui(ui_db: UiDb) -> Iterator[ServedUi]:
    """The session's read-only server over the UI database (rollups refreshed once)."""
    served, stop = start_server(str(ui_db.path))
    try:
        reply = httpx.post(served.url + API + "/rollups/refresh", timeout=60)
        assert reply.status_code == 200, reply.text
        yield served
    finally:
        stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    require_chromium()
    with launch() as browser:
        yield browser


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def open_page(
    chromium: Any, request: pytest.FixtureRequest
) -> Iterator[Callable[..., GuardedPage]]:
    """open(base_url, timezone_id="UTC") -> a guarded page. After a passing test, every page
    it opened and did not check itself must be clean (loopback only, no JS error)."""
    pages: list[GuardedPage] = []

    def open_(base_url: str, **kwargs: Any) -> GuardedPage:
        page = GuardedPage.open(chromium, base_url, **kwargs)
        pages.append(page)
        return page

    yield open_
    try:
        if not request.node.stash.get(_CALL_FAILED, True):
            for page in pages:
                if not page.checked:
                    page.assert_clean()
    finally:
        for page in pages:
            page.close()


@pytest.fixture
def ui(open_page: Callable[..., GuardedPage], served_ui: ServedUi) -> GuardedPage:
    """A guarded Chromium page on the session's server."""
    return open_page(served_ui.url)


@pytest.fixture
def api(served_ui: ServedUi) -> Api:
    return served_ui.api
