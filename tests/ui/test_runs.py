"""Runs (/runs): the table is GET /runs; filters, sorting and paging work and live in the URL.

Expected rows are computed here from the full, unfiltered run list (every page of GET /runs)
and GET /tasks, not from the filtered API answer the page itself asks for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.helpers.browser import GuardedPage, number, same_number
from tests.ui.conftest import Api, ServedUi

PAGE = 25
ROWS = "table[data-testid=runs] tbody tr[data-run-id]"
NUMERIC = ("duration_ms", "total_tokens", "cost_usd", "task_count")


def shown_ids(ui: GuardedPage) -> list[str]:
    return [v or "" for v in ui.values(ROWS, "data-run-id")]


def query(ui: GuardedPage) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(ui.page.url).query).items()}


def wait_rows(ui: GuardedPage, expected: list[str], what: str) -> None:
    """The table shows exactly `expected` (ids, in order), once the refetch has landed."""
    try:
        ui.page.wait_for_function(
            """([sel, ids]) => {
                const got = [...document.querySelectorAll(sel)].map((r) => r.dataset.runId);
                return document.querySelector('main#view[data-state=ready]') &&
                    got.length === ids.length && got.every((id, i) => id === ids[i]);
            }""",
            arg=[ROWS, expected],
            timeout=8000,
        )
    except Exception as exc:
        raise AssertionError(
            f"{what}: rows {shown_ids(ui)} != expected {expected} (url {ui.page.url})"
        ) from exc


def total_tokens(run: dict[str, Any]) -> int | None:
    if run["total_tokens"] is not None:
        return int(run["total_tokens"])
    if run["input_tokens"] is None and run["output_tokens"] is None:
        return None
    return int((run["input_tokens"] or 0) + (run["output_tokens"] or 0))


@pytest.fixture(scope="module")
def every_run(served_ui: ServedUi) -> list[dict[str, Any]]:
    runs = served_ui.api.all_runs()
    assert len(runs) > 2 * PAGE, "the UI database holds three pages of runs"
    return runs


def test_first_page_is_the_api_page(ui: GuardedPage, api: Api) -> None:
    ui.goto("/runs", "runs")
    page = api.get("/runs", limit=PAGE, offset=0)
    rows = ui.rows(ROWS)
    assert [r["attrs"]["data-run-id"] for r in rows] == [r["run_id"] for r in page["runs"]]
    wrong = []
    for run, row in zip(page["runs"], rows, strict=True):
        cells = row["fields"]
        missing = {"name", "kind", "status", "start_time", *NUMERIC} - set(cells)
        assert not missing, f"missing cells in {run['run_id']}: {missing}"
        expected = {**{f: run[f] for f in NUMERIC}, "total_tokens": total_tokens(run)}
        for f, value in expected.items():
            if not same_number(cells[f]["value"], value):
                wrong.append((run["run_id"], f, cells[f]["value"], value))
        if cells["kind"]["text"] != run["kind"]:
            wrong.append((run["run_id"], "kind", cells["kind"]["text"], run["kind"]))
        if cells["status"]["text"] != run["status"]:
            wrong.append((run["run_id"], "status", cells["status"]["text"], run["status"]))
        start = cells["start_time"]["value"] or ""
        if datetime.fromisoformat(start.replace("Z", "+00:00")) != datetime.fromisoformat(
            run["start_time"].replace("Z", "+00:00")
        ):
            wrong.append((run["run_id"], "start_time", start, run["start_time"]))
        assert row["links"][0] == f"/runs/{run['run_id']}"
        assert run["name"] in (cells["name"]["text"] or "")
    assert not wrong, wrong
    badges = ui.values(f"{ROWS} td[data-field=status] [data-status]", "data-status")
    assert badges == [r["status"] for r in page["runs"]]
    ui.screenshot("runs")
    ui.assert_clean()


def test_pagination_in_the_url(ui: GuardedPage, every_run: list[dict[str, Any]]) -> None:
    ids = [r["run_id"] for r in every_run]
    n = len(ids)
    ui.goto("/runs", "runs")
    info = ui.page.locator("[data-testid=page-info]")
    assert info.inner_text().strip() == f"1–{PAGE} of {n}"
    assert ui.page.is_disabled("[data-testid=prev]")
    ui.page.click("[data-testid=next]")
    wait_rows(ui, ids[PAGE : 2 * PAGE], "page 2")
    assert query(ui).get("offset") == str(PAGE)
    assert info.inner_text().strip() == f"{PAGE + 1}–{2 * PAGE} of {n}"
    ui.page.click("[data-testid=next]")
    wait_rows(ui, ids[2 * PAGE :], "page 3")
    assert query(ui).get("offset") == str(2 * PAGE)
    assert info.inner_text().strip() == f"{2 * PAGE + 1}–{n} of {n}"
    assert ui.page.is_disabled("[data-testid=next]")
    ui.page.click("[data-testid=prev]")
    wait_rows(ui, ids[PAGE : 2 * PAGE], "back to page 2")
    ui.page.go_back()  # history holds each page
    wait_rows(ui, ids[2 * PAGE :], "history back to page 3")
    # the address restores the page
    ui.goto(f"/runs?offset={PAGE}", "runs")
    wait_rows(ui, ids[PAGE : 2 * PAGE], "page 2 from the URL")
    ui.assert_clean()


def test_kind_and_status_filters(ui: GuardedPage, every_run: list[dict[str, Any]]) -> None:
    ui.goto("/runs", "runs")
    ui.page.select_option("form[data-testid=filters] select[name=kind]", "flow")
    flows = [r["run_id"] for r in every_run if r["kind"] == "flow"]
    assert flows
    wait_rows(ui, flows, "kind=flow")
    assert query(ui).get("kind") == "flow"
    ui.page.select_option("form[data-testid=filters] select[name=kind]", "crew")
    ui.page.select_option("form[data-testid=filters] select[name=status]", "failed")
    failed = [r["run_id"] for r in every_run if r["kind"] == "crew" and r["status"] == "failed"]
    assert 0 < len(failed) < PAGE
    wait_rows(ui, failed, "kind=crew&status=failed")
    assert {"kind": "crew", "status": "failed"}.items() <= query(ui).items()
    assert ui.page.locator("[data-testid=page-info]").inner_text().strip() == (
        f"1–{len(failed)} of {len(failed)}"
    )
    ui.assert_clean()


def test_a_shared_address_restores_the_form(
    ui: GuardedPage, every_run: list[dict[str, Any]]
) -> None:
    ui.goto("/runs?kind=crew&status=failed", "runs")
    form = "form[data-testid=filters]"
    assert ui.page.input_value(f"{form} select[name=kind]") == "crew"
    assert ui.page.input_value(f"{form} select[name=status]") == "failed"
    failed = [r["run_id"] for r in every_run if r["kind"] == "crew" and r["status"] == "failed"]
    wait_rows(ui, failed, "restored kind=crew&status=failed")
    ui.assert_clean()


def test_name_agent_and_search_filters(
    ui: GuardedPage, api: Api, every_run: list[dict[str, Any]]
) -> None:
    form = "form[data-testid=filters]"
    ui.goto("/runs", "runs")
    ui.page.fill(f"{form} input[name=name]", "research crew")
    ui.page.press(f"{form} input[name=name]", "Enter")
    named = [r["run_id"] for r in every_run if r["name"] == "research crew"]
    assert len(named) == 4  # ResearchCrew once, then kickoff_for_each over three topics
    wait_rows(ui, named, "name=research crew")
    assert query(ui).get("name") == "research crew"

    agent = "Senior Data Researcher"  # a role of ResearchCrew's YAML, spaces and all
    tasks: list[dict[str, Any]] = []
    while True:
        page = api.get("/tasks", agent=agent, limit=100, offset=len(tasks))
        tasks += page["tasks"]
        if len(tasks) >= page["total"]:
            break
    with_agent = {t["run_id"] for t in tasks}
    expected = [r["run_id"] for r in every_run if r["run_id"] in with_agent]
    assert expected
    ui.goto("/runs", "runs")
    ui.page.fill(f"{form} input[name=agent]", agent)
    ui.page.press(f"{form} input[name=agent]", "Enter")
    wait_rows(ui, expected, f"agent={agent}")
    assert query(ui).get("agent") == agent

    # search: a run id finds that run, an error message the failed runs that raised it
    target = every_run[7]["run_id"]
    ui.goto("/runs", "runs")
    ui.page.fill(f"{form} input[name=q]", target)
    ui.page.press(f"{form} input[name=q]", "Enter")
    wait_rows(ui, [target], "q=<run id>")
    bad = [r["run_id"] for r in every_run if "bad input" in (r["error_preview"] or "")]
    assert bad
    ui.page.fill(f"{form} input[name=q]", "bad input")
    ui.page.press(f"{form} input[name=q]", "Enter")
    wait_rows(ui, bad, "q=bad input")
    assert query(ui).get("q") == "bad input"
    ui.assert_clean()


def test_date_range_in_the_browsers_time_zone(
    open_page: Any, served_ui: ServedUi, every_run: list[dict[str, Any]]
) -> None:
    """datetime-local values are the browser's local time (here Asia/Kolkata, UTC+5:30)."""
    zone = ZoneInfo("Asia/Kolkata")
    ui = open_page(served_ui.url, timezone_id="Asia/Kolkata")
    starts = [datetime.fromisoformat(r["start_time"].replace("Z", "+00:00")) for r in every_run]
    # a window around generated runs hours apart: minute bounds cannot cut a run in two
    lo_utc = starts[20].replace(second=0, microsecond=0)
    hi_utc = starts[12].replace(second=0, microsecond=0) + timedelta(minutes=1)
    expected = [
        r["run_id"] for r, t in zip(every_run, starts, strict=True) if lo_utc <= t <= hi_utc
    ]
    assert 5 <= len(expected) <= 12
    local = {
        "from": lo_utc.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "to": hi_utc.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
    }
    ui.goto("/runs", "runs")
    form = "form[data-testid=filters]"
    ui.page.fill(f"{form} input[name=from]", local["from"])
    ui.page.fill(f"{form} input[name=to]", local["to"])
    ui.page.click(f"{form} button[type=submit]")
    wait_rows(ui, expected, f"from/to {local} Asia/Kolkata")
    assert {k: query(ui).get(k) for k in local} == local
    # reload from the address: the same window, the form filled again
    ui.page.reload()
    ui.wait_view("runs")
    wait_rows(ui, expected, "from/to after a reload")
    assert ui.page.input_value(f"{form} input[name=from]") == local["from"]
    ui.assert_clean()


def _sorted_values(runs: list[dict[str, Any]], field: str, desc: bool) -> list[float]:
    return sorted((float(r[field]) for r in runs), reverse=desc)


def test_sort_by_duration(ui: GuardedPage, every_run: list[dict[str, Any]]) -> None:
    ui.goto("/runs", "runs")
    header = "th[data-sort=duration_ms]"

    def shown() -> list[float]:
        cells = ui.values(f"{ROWS} td[data-field=duration_ms]")
        return [number(c) or 0.0 for c in cells]

    ui.page.click(header)
    ui.page.wait_for_function("() => new URL(location.href).searchParams.get('sort')")
    first = query(ui).get("order")
    assert query(ui).get("sort") == "duration_ms" and first in ("asc", "desc")
    for order in (first, "asc" if first == "desc" else "desc"):
        expected = _sorted_values(every_run, "duration_ms", desc=order == "desc")[:PAGE]
        try:
            ui.page.wait_for_function(
                """([sel, want]) => {
                    const got = [...document.querySelectorAll(sel)].map((c) => +c.dataset.value);
                    return got.length === want.length &&
                        got.every((v, i) => Math.abs(v - want[i]) < 1e-6);
                }""",
                arg=[f"{ROWS} td[data-field=duration_ms]", expected],
                timeout=8000,
            )
        except Exception as exc:
            raise AssertionError(f"sort duration_ms {order}: {shown()} != {expected}") from exc
        assert query(ui).get("order") == order
        sorted_header = ui.page.query_selector(header)
        assert sorted_header is not None
        aria = sorted_header.get_attribute("aria-sort")
        assert aria == ("descending" if order == "desc" else "ascending")
        if order == first:
            ui.page.click(header)  # toggles
            ui.page.wait_for_function(
                "(o) => new URL(location.href).searchParams.get('order') !== o", arg=first
            )
    # the sorted view pages too
    ui.page.click("[data-testid=next]")
    second = _sorted_values(every_run, "duration_ms", desc=query(ui).get("order") == "desc")
    ui.page.wait_for_function(
        "(o) => new URL(location.href).searchParams.get('offset') === o", arg=str(PAGE)
    )
    ui.wait_view("runs")
    ui.page.wait_for_function(
        """([sel, want]) => {
            const got = [...document.querySelectorAll(sel)].map((c) => +c.dataset.value);
            return got.length === want.length && got.every((v, i) => Math.abs(v - want[i]) < 1e-6);
        }""",
        arg=[f"{ROWS} td[data-field=duration_ms]", second[PAGE : 2 * PAGE]],
        timeout=8000,
    )
    ui.assert_clean()
