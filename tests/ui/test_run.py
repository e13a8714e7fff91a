"""Run detail (/runs/{id}): totals, one waterfall row per span of the run's tree, the failed
tool's row with its message, span attributes, a flow's method graph, nested runs, logs."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.helpers.browser import GuardedPage, assert_fields, same_number
from tests.ui.conftest import FLAKY_CREW, FLAKY_MESSAGE, Api, ServedUi

ROW = "[data-testid=waterfall] [data-span-id]"


def tree(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The span tree depth first, parents before children, children in the API's order."""
    out: list[dict[str, Any]] = []
    for span in spans:
        out.append(span)
        out += tree(span["children"])
    return out


LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "embeddings"}
TOKENS = ("input_tokens", "output_tokens")


def shown_tokens(span: dict[str, Any]) -> dict[str, int | None]:
    """A row's tokens: the span's own, or else the sums over the LLM calls below it."""
    if any(span[f] is not None for f in TOKENS):
        return {f: span[f] for f in TOKENS}
    calls = [
        s for s in tree(span["children"])
        if s["operation"] in LLM_OPERATIONS and any(s[f] is not None for f in TOKENS)
    ]  # fmt: skip
    return {f: sum(s[f] or 0 for s in calls) if calls else None for f in TOKENS}


def only_run(api: Api, **params: Any) -> dict[str, Any]:
    (run,) = api.get("/runs", limit=100, **params)["runs"]
    return api.get(f"/runs/{run['run_id']}")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def flaky(served_ui: ServedUi) -> dict[str, Any]:
    return only_run(served_ui.api, name=FLAKY_CREW)


@pytest.fixture(scope="module")
def flow(served_ui: ServedUi) -> dict[str, Any]:
    return only_run(served_ui.api, kind="flow")


def check_waterfall(ui: GuardedPage, run: dict[str, Any]) -> list[dict[str, Any]]:
    spans = tree(run["spans"])
    assert len(spans) == run["counts"]["spans"] > 1
    rows = ui.rows(ROW)
    assert [r["attrs"]["data-span-id"] for r in rows] == [s["span_id"] for s in spans]
    wrong = []
    for span, row in zip(spans, rows, strict=True):
        attrs, cells = row["attrs"], row["fields"]
        if attrs.get("data-status") != span["status"]:
            wrong.append((span["name"], "status", attrs.get("data-status")))
        if (attrs.get("data-operation") or None) != span["operation"]:
            wrong.append((span["name"], "operation", attrs.get("data-operation")))
        expected = {"duration_ms": span["duration_ms"], **shown_tokens(span)}
        for f, want in expected.items():
            if f not in cells or not same_number(cells[f]["value"], want):
                wrong.append((span["name"], f, cells.get(f), want))
        if span["cost_usd"] is not None:  # an LLM call's own cost (rows above may sum theirs)
            if "cost_usd" not in cells or not same_number(
                cells["cost_usd"]["value"], span["cost_usd"]
            ):
                wrong.append((span["name"], "cost_usd", cells.get("cost_usd")))
        has_error = "error" in cells
        if has_error != (span["status"] == "error"):
            wrong.append((span["name"], "error shown", has_error))
    assert not wrong, wrong
    summed = [s for s in spans if s["input_tokens"] is None and shown_tokens(s)["input_tokens"]]
    assert summed, "no row shows the tokens of the LLM calls below it"
    return spans


def test_failed_tool_run(ui: GuardedPage, flaky: dict[str, Any]) -> None:
    ui.goto(f"/runs/{flaky['run_id']}", "run")
    assert_fields(
        ui,
        "[data-testid=run-totals]",
        {
            "duration_ms": flaky["duration_ms"],
            "input_tokens": flaky["input_tokens"],
            "output_tokens": flaky["output_tokens"],
            "cost_usd": flaky["cost_usd"],
            "spans": flaky["counts"]["spans"],
            "errors": flaky["counts"]["errors"],
        },
        "run totals",
    )
    spans = check_waterfall(ui, flaky)
    failed = [s for s in spans if s["status"] == "error"]
    assert [s["operation"] for s in failed] == ["execute_tool"]  # the tool raised, the run went on
    tool = failed[0]
    row = ui.page.query_selector(f'{ROW}[data-span-id="{tool["span_id"]}"]')
    assert row is not None and row.get_attribute("data-status") == "error"
    message = row.query_selector("[data-field=error]")
    assert message is not None and FLAKY_MESSAGE in message.inner_text()
    ui.screenshot("run")

    # a click shows the span's attributes
    row.click()
    detail = ui.page.wait_for_selector(
        f'[data-testid=span-detail][data-span-id="{tool["span_id"]}"]'
    )
    assert detail is not None
    for key, value in tool["attributes"].items():
        cell = detail.query_selector(f'[data-attr="{key}"]')
        assert cell is not None, f"attribute {key} not shown"
        assert value[:60] in cell.inner_text()
    assert tool["attributes"]["gen_ai.tool.name"] == "word_counter"
    ui.assert_clean()


def test_run_logs(ui: GuardedPage, api: Api, flaky: dict[str, Any]) -> None:
    logs = api.get(f"/runs/{flaky['run_id']}/logs", limit=100)
    assert any("word_counter failed" in r["body"] for r in logs["logs"])
    ui.goto(f"/runs/{flaky['run_id']}", "run")
    lines = ui.page.locator("[data-testid=run-logs] li")
    lines.first.wait_for()
    texts = [t.strip() for t in lines.all_inner_texts()]
    assert len(texts) == logs["total"]
    for record, text in zip(logs["logs"], texts, strict=True):
        assert record["body"][:80] in text
    ui.assert_clean()


def test_flow_run_graph_and_nested_runs(ui: GuardedPage, flow: dict[str, Any]) -> None:
    ui.goto(f"/runs/{flow['run_id']}", "run")
    spans = check_waterfall(ui, flow)
    ran = Counter(
        s["attributes"]["crewai.flow.method"] for s in spans if s["name"].startswith("flow_method ")
    )
    assert {"plan_content", "choose_format", "write_post", "save_content"} <= set(ran)
    graph = ui.page.wait_for_selector("[data-testid=flow-graph]", timeout=5000)
    assert graph is not None
    shown = {
        node.get_attribute("data-method"): node.query_selector("[data-field=executions]")
        for node in ui.page.query_selector_all("[data-testid=flow-graph] [data-method]")
    }
    for method, count in ran.items():
        cell = shown.get(method)
        assert cell is not None, f"method {method} missing from the graph: {sorted(shown)}"
        assert cell.get_attribute("data-value") == str(count), method
    for method in set(shown) - set(ran):  # methods that did not run (the router's other way)
        cell = shown[method]
        assert cell is not None and cell.get_attribute("data-value") == "0", method
    nested = ui.page.query_selector_all("[data-testid=nested-runs] a")
    assert [a.get_attribute("href") for a in nested] == [
        f"/runs/{n['run_id']}" for n in flow["nested_runs"]
    ]
    assert len(nested) == 2
    ui.screenshot("run-flow")
    nested[0].click()
    ui.page.wait_for_url(f"**/runs/{flow['nested_runs'][0]['run_id']}")
    ui.wait_view("run")
    ui.page.wait_for_selector(f'{ROW}[data-span-id="{flow["nested_runs"][0]["run_id"]}"]')
    ui.assert_clean()


def test_unknown_run_shows_the_api_error(ui: GuardedPage, served_ui: ServedUi) -> None:
    import httpx

    for run_id in ("0123456789abcdef", "unknown-id"):
        reply = httpx.get(f"{served_ui.url}/api/v1/monitoring/runs/{run_id}", timeout=10)
        assert reply.status_code in (404, 422)
        messages = [d["msg"] for d in reply.json()["detail"]]
        ui.allow_console(rf"status of {reply.status_code} .*runs/{run_id}")
        ui.goto(f"/runs/{run_id}", "run", state="error")
        box = ui.page.query_selector("[data-testid=error]")
        assert box is not None
        for msg in messages:
            assert msg in box.inner_text(), (msg, box.inner_text())
    ui.screenshot("error")
    ui.assert_clean()
