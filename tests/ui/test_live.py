"""A crew run started during the test shows up live, without a reload.

The crew (the demo crew: Researcher with the word-counter tool, then Writer) is instrumented
by ``configure()`` and exports over OTLP/HTTP to the served app's /v1/traces and /v1/metrics
(spans every 100 ms, metrics every 200 ms), kicked off in a thread while three pages are
open: /agents (the Researcher card goes "running research", its activity and totals move),
/runs (a ``data-live=running`` row on top, then the finished run after the refetch) and /
(live activity lines). The fake LLM answers each call after 2 s, so "running" lasts through
the live feed's polls even on a loaded machine (at 0.8 s it was seen to end between two).
The server is this module's own, over a copy of the UI database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.browser import GuardedPage, number
from tests.ui.conftest import ServedUi, UiDb, start_server

CREW = "live_crew"
CARD = "[data-testid=agent-card]"
RECORDER = """() => {
  window.__seen = {running: [], live: []};
  const look = () => {
    document.querySelectorAll('[data-testid=agent-card]').forEach((c) => {
      const s = c.querySelector('[data-field=status]');
      if (s && s.dataset.status === 'running')
        window.__seen.running.push([c.dataset.agent, s.textContent.trim()]);
    });
    document.querySelectorAll('tr[data-live=running]').forEach((r) => {
      if (!window.__seen.live.includes(r.dataset.runId)) window.__seen.live.push(r.dataset.runId);
    });
  };
  new MutationObserver(look).observe(document,
    {subtree: true, childList: true, attributes: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def live_server(ui_db: UiDb, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedUi]:
    path = ui_db.copy(Path(tmp_path_factory.mktemp("ui-live")) / "live.duckdb")
    served, stop = start_server(path)
    try:
        yield served
    finally:
        stop()


def card(ui: GuardedPage, agent: str) -> dict[str, float | None]:
    scope = f'{CARD}[data-agent="{agent}"]'
    fields = ("executions", "input_tokens", "output_tokens", "memory", "threads")
    return {f: number(ui.field_value(scope, f)) for f in fields}


def test_a_running_crew_appears_live(
    open_page: Any, live_server: ServedUi, fake_llm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crewscope.demo.crew import build_crew, make_llm
    from crewscope.instrumentation.configure import configure

    api = live_server.api
    before = {a["agent"]: a for a in api.get("/agents", time_range="1d")["agents"]}
    runs_before = api.get("/runs", limit=1)["total"]
    agents, runs, overview = (open_page(live_server.url) for _ in range(3))
    opened = ((agents, "/agents", "agents"), (runs, "/runs", "runs"), (overview, "/", "overview"))
    for page, path, _ in opened:  # all three load at once
        page.context.add_init_script(f"({RECORDER})()")
        page.page.goto(live_server.url + path, wait_until="commit")
    for page, _, view in opened:
        page.wait_view(view)
        page.page.wait_for_selector("[data-testid=live-status][data-status=live]")
        page.page.evaluate("window.__stayed = true")  # gone if the page reloads
    start = {a: card(agents, a) for a in ("Researcher", "Writer")}
    for a in ("Researcher", "Writer"):
        assert start[a]["executions"] == before[a]["total_executions"]

    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    telemetry = configure(
        service_name="live-crew",
        exporters=["otlp"],
        metrics_exporters=["otlp"],
        otlp_endpoint=live_server.url,
        set_global=False,
        metrics_interval_millis=200,
    )
    fake_llm.reset()
    fake_llm.set_latency(2.0)
    failure: list[BaseException] = []

    def kickoff() -> None:
        try:
            crew = build_crew(make_llm(fake_llm.base_url, max_retries=0), name=CREW)
            crew.kickoff(inputs={"topic": "live dashboards"})
        except BaseException as exc:  # noqa: BLE001  (re-raised by the test)
            failure.append(exc)

    thread = threading.Thread(target=kickoff, name="live-crew")
    thread.start()
    try:
        status = f'{CARD}[data-agent="Researcher"] [data-field=status][data-status=running]'
        agents.page.wait_for_selector(status, timeout=30_000)
        assert agents.page.inner_text(status).strip() == "running research"
        if runs.page.query_selector("tr[data-live=running]"):  # (checked below either way)
            runs.screenshot("runs-live")
        agents.screenshot("agents-live")
        thread.join(60)
        assert not thread.is_alive() and not failure, failure
    finally:
        fake_llm.set_latency(0.0)
        thread.join(60)
        telemetry.shutdown()  # flushes the last spans and metrics
    calls = [c for c in fake_llm.calls if c.status == 200]

    # the API has the run; every page shows it without a reload
    (run,) = api.get("/runs", name=CREW)["runs"]
    assert api.get("/runs", limit=1)["total"] == runs_before + 1
    assert run["input_tokens"] == sum(c.prompt_tokens for c in calls)
    first_row = "table[data-testid=runs] tbody tr[data-run-id]"
    runs.page.wait_for_function(
        """([sel, id]) => {
            const row = document.querySelector(sel);
            return row && row.dataset.runId === id && !row.dataset.live &&
                !document.querySelector('tr[data-live=running]');
        }""",
        arg=[first_row, run["run_id"]],
        timeout=10_000,
    )
    row_status = runs.page.query_selector(f"{first_row} td[data-field=status] [data-status]")
    assert row_status is not None and row_status.get_attribute("data-status") == "completed"
    seen = runs.page.evaluate("window.__seen")
    assert run["run_id"] in seen["live"], seen  # the running row was this run's

    after = {a["agent"]: a for a in api.get("/agents", time_range="1d")["agents"]}
    for a in ("Researcher", "Writer"):
        assert after[a]["total_executions"] == before[a]["total_executions"] + 1
        scope = f'{CARD}[data-agent="{a}"]'
        agents.page.wait_for_function(
            """([scope, n]) => {
                const el = document.querySelector(scope + ' [data-field=executions]');
                return el && el.dataset.value === String(n) &&
                    document.querySelector(scope + ' [data-field=status]').dataset.status === 'idle';
            }""",
            arg=[scope, after[a]["total_executions"]],
            timeout=10_000,
        )
        now = card(agents, a)
        assert now["input_tokens"] == after[a]["input_tokens"], a
        assert now["output_tokens"] == after[a]["output_tokens"], a
        lines = agents.page.locator(f"{scope} [data-testid=activity] li").all_inner_texts()
        assert lines and ("finished" in lines[0] or "task" in lines[0]), (a, lines)
    grew = sum((card(agents, a)["input_tokens"] or 0) - (start[a]["input_tokens"] or 0)
               for a in ("Researcher", "Writer"))  # fmt: skip
    assert grew == sum(c.prompt_tokens for c in calls)
    seen = agents.page.evaluate("window.__seen")
    assert ["Researcher", "running research"] in seen["running"]
    assert all(name in ("Researcher", "Writer") for name, _ in seen["running"]), seen

    # process stats of the crew's process arrived over OTLP metrics and the live feed
    procs = {p["service"]: p for p in api.get("/metrics/process")["processes"]}
    assert "live-crew" in procs
    researcher = f'{CARD}[data-agent="Researcher"]'
    agents.page.wait_for_function(
        "([scope, n]) => document.querySelector(scope + ' [data-field=threads]')"
        "?.dataset.value === String(n)",
        arg=[researcher, procs["live-crew"]["threads"]],
        timeout=10_000,
    )

    # the overview streamed the run's activity and refetched its recent runs
    overview.page.wait_for_selector("[data-testid=activity] li[data-kind=run_completed]")
    kinds = overview.values("[data-testid=activity] li", "data-kind")
    assert {"llm_call", "task_completed", "tool_call"} <= set(kinds), kinds
    overview.page.wait_for_function(
        "(id) => document.querySelector('table[data-testid=recent-runs] tbody tr')"
        "?.dataset.runId === id",
        arg=run["run_id"],
        timeout=10_000,
    )
    overview.screenshot("overview-live")
    for page in (agents, runs, overview):
        assert page.page.evaluate("window.__stayed === true"), "the page reloaded"
        page.assert_clean()
