"""Bring your own instrumentation: the demo crew under OpenInference, OpenLLMetry and OpenLIT
(the real packages, pinned, each in its own subprocess: tests/helpers/peers.py) exports
OTLP/HTTP to a real `crewscope serve` app; its API must answer the runs, tasks, agents, LLM
usage and tool calls that the fake LLM's log and the crew's shape say, as far as each peer
records them. Peers record different things (the table below); what one does not record
is asserted absent, so a peer that starts recording it shows up here.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from crewscope.exporter.operations import LLM_OPERATIONS
from crewscope.exporter.pricing import cost_usd
from tests.helpers.peers import PEERS, run_peer
from tests.helpers.served import API, Served


@dataclass(frozen=True)
class Records:
    """What a peer's spans say about the demo crew (Researcher: research, with the
    word_counter tool; Writer: write)."""

    task_names: tuple[str | None, str | None]
    """How the peer names the two tasks (None: it does not)."""
    tool_calls: int
    """word_counter calls it records (0: it records no tool spans)."""


RECORDS = {
    "openinference": Records(("research", "write"), 1),
    # OpenLLMetry's Task span carries the description, not the task's name; no tool spans
    "openllmetry": Records(
        (
            "Research openllmetry and count the words of your key sentence with the tool.",
            "Write a short summary about openllmetry.",
        ),
        0,
    ),  # fmt: skip
    # OpenLIT names agents, not tasks
    "openlit": Records((None, None), 1),
}


EXPORT_DELAY_MS = 1000
"""The peers' export interval (``OTEL_BSP_SCHEDULE_DELAY``; the SDK's default is 5 s)."""
LLM_LATENCY_S = 2.0
"""Each fake LLM answer takes this long: longer than the export interval, so a call is
exported a second or more before the next one (and its task span) ends."""
MISSING = (
    'SELECT count(*) FILTER (WHERE list_contains(?, "GenAiOperation") '
    'AND "AgentName" IS NULL), '
    'count(*) FILTER (WHERE "GenAiOperation" = \'invoke_agent\' AND "CrewName" IS NULL) '
    'FROM otel_traces WHERE "ServiceName" = ?'
)
"""The peer's stored LLM calls without an agent and tasks without a crew."""


def _run_watching(served: Served, peer: str, llm_url: str, tmp_path: Path) -> tuple[Any, int, int]:
    """Run the crew under `peer`; its answer and the most LLM calls without an agent and
    tasks without a crew stored at once while it ran."""
    calls = tasks = 0
    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(
            run_peer, PEERS[peer], served.url, llm_url, tmp_path, schedule_delay_ms=EXPORT_DELAY_MS
        )
        while not done.done():
            [(c, t)] = served.rows(MISSING, [list(LLM_OPERATIONS), f"peer-{peer}"])
            calls, tasks = max(calls, c), max(tasks, t)
            time.sleep(0.1)
        return done.result(), calls, tasks


def _get(served: Served, path: str) -> Any:
    response = httpx.get(f"{served.url}{API}/{path}", timeout=30)
    response.raise_for_status()
    return response.json()


def _wait_for_run(served: Served, llm_calls: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    runs: dict[str, Any] = {}
    while time.monotonic() < deadline:
        runs = _get(served, "runs")
        llm = _get(served, "llm")
        done = runs["total"] and all(r["status"] != "running" for r in runs["runs"])
        if done and sum(m["calls"] for m in llm["by_model"]) >= llm_calls:
            return runs
        time.sleep(0.3)
    raise AssertionError(f"run not landed in {timeout}s: {runs}")


@pytest.mark.parametrize("peer", sorted(PEERS))
def test_peer_spans_answer_like_the_fake_llm(
    peer: str, make_served: Any, llm_server: Any, tmp_path: Path
) -> None:
    served = make_served()
    llm_server.set_latency(LLM_LATENCY_S)
    answer, calls_late, tasks_late = _run_watching(served, peer, llm_server.base_url, tmp_path)
    assert answer["raw"], answer
    # the late path: calls were stored before their agent's span, tasks before their crew's
    assert calls_late and tasks_late, (calls_late, tasks_late)
    calls = list(llm_server.calls)
    assert calls and all(c.status == 200 for c in calls)
    # which agent made which call: the Researcher until its final answer, then the Writer
    first_final = next(i for i, c in enumerate(calls) if c.kind == "final")
    by_agent = {"Researcher": calls[: first_final + 1], "Writer": calls[first_final + 1 :]}
    assert by_agent["Writer"], calls
    prompt, completion = (
        sum(c.prompt_tokens for c in calls),
        sum(c.completion_tokens for c in calls),
    )
    cost = sum(
        cost_usd(c.model, "openai", c.prompt_tokens, c.completion_tokens) or 0 for c in calls
    )
    assert cost > 0
    crew = f"{peer}_crew"
    expect = RECORDS[peer]

    # runs: one crew run (OpenLIT's per-agent executor flows are not runs), totals from
    # the LLM calls (the peers' own crew totals count this crew's prompt tokens twice)
    runs = _wait_for_run(served, len(calls))
    assert runs["total"] == 1, runs
    [run] = runs["runs"]
    assert (run["kind"], run["crew"], run["status"]) == ("crew", crew, "completed")
    assert (run["input_tokens"], run["output_tokens"]) == (prompt, completion)
    assert run["cost_usd"] == pytest.approx(cost)
    detail = _get(served, f"runs/{run['run_id']}")
    assert detail["counts"]["llm_calls"] == len(calls)
    assert detail["counts"]["tasks"] == 2
    assert detail["counts"]["tool_calls"] == expect.tool_calls

    # tasks: one per task (OpenLLMetry's Agent span inside its Task span is not a second)
    tasks = _get(served, "tasks")
    assert tasks["total"] == 2, tasks
    got_tasks = sorted(tasks["tasks"], key=lambda t: t["start_time"])
    assert [t["agent"] for t in got_tasks] == ["Researcher", "Writer"]
    assert tuple(t["task"] for t in got_tasks) == expect.task_names
    for task, agent in zip(got_tasks, ("Researcher", "Writer"), strict=True):
        mine = by_agent[agent]
        assert task["run_id"] == run["run_id"] and task["crew"] == crew
        assert task["status"] == "completed"
        assert (task["input_tokens"], task["output_tokens"]) == (
            sum(c.prompt_tokens for c in mine),
            sum(c.completion_tokens for c in mine),
        )

    # agents and LLM usage per agent: chat spans inherit the agent of their invoke_agent span
    agents = {a["agent"]: a for a in _get(served, "agents")["agents"]}
    assert set(agents) == {"Researcher", "Writer"}
    assert all(a["crew"] == crew and a["total_executions"] == 1 for a in agents.values())
    llm = _get(served, "llm")
    [model] = llm["by_model"]
    assert (model["model"], model["provider"]) == ("gpt-4o-mini", "openai")
    assert (model["calls"], model["input_tokens"], model["output_tokens"]) == (
        len(calls), prompt, completion,
    )  # fmt: skip
    assert model["cost_usd"] == pytest.approx(cost)
    usage = {a["agent"]: a for a in llm["by_agent"]}
    assert set(usage) == {"Researcher", "Writer"}, llm["by_agent"]  # no agent: null
    for agent, mine in by_agent.items():
        assert (usage[agent]["calls"], usage[agent]["input_tokens"], usage[agent]["output_tokens"]) == (
            len(mine), sum(c.prompt_tokens for c in mine), sum(c.completion_tokens for c in mine),
        )  # fmt: skip

    # tools, as far as the peer records them
    tools = _get(served, "tools")["tools"]
    if expect.tool_calls:
        [tool] = tools
        assert (tool["tool"], tool["calls"], tool["errors"]) == (
            "word_counter",
            expect.tool_calls,
            0,
        )
    else:
        assert tools == []

    # every span of the peer's app is marked with its source (the server's own HTTP spans
    # are not the peer's); nothing was dropped: the run detail lists them all
    rows = served.rows(
        'SELECT "SpanName", "SpanAttributes"[\'crewscope.source\'] FROM otel_traces '
        'WHERE "ServiceName" = ?',
        [f"peer-{peer}"],
    )
    assert rows and {source for _, source in rows} == {peer}, rows
    in_trace = served.rows(
        'SELECT count(*) FROM otel_traces WHERE "TraceId" = ?', [run["trace_id"]]
    )[0][0]
    assert detail["counts"]["spans"] == in_trace

    # the spans themselves name what they inherit now: nothing is left without an agent or
    # crew, and an agent's activity and the run's span tree show its calls
    assert served.rows(MISSING, [list(LLM_OPERATIONS), f"peer-{peer}"]) == [(0, 0)]
    tree_calls: Counter[tuple[str, str | None]] = Counter()
    stack = list(detail["spans"])
    while stack:
        node = stack.pop()
        stack.extend(node["children"])
        if node["operation"] in LLM_OPERATIONS or node["operation"] == "execute_tool":
            tree_calls[(node["operation"], node["agent"])] += 1
    tools_of = {"Researcher": expect.tool_calls, "Writer": 0}
    want_tree: Counter[tuple[str, str | None]] = Counter()
    for agent, mine in by_agent.items():
        want_tree[("chat", agent)] += len(mine)
        want_tree[("execute_tool", agent)] += tools_of[agent]
        lines = Counter(
            line["kind"] for line in _get(served, f"agents/{agent}/activity?limit=500")["activity"]
        )
        assert (lines["llm_call"], lines["tool_call"], lines["task_finished"]) == (
            len(mine), tools_of[agent], 1,
        ), (agent, lines)  # fmt: skip
        tools_by = _get(served, f"tools?agent={agent}")["tools"]
        assert sum(t["calls"] for t in tools_by) == tools_of[agent], (agent, tools_by)
    assert tree_calls == +want_tree, tree_calls
