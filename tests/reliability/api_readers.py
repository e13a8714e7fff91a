"""API readers that check what they read while runs are being ingested.

An `ApiReader` thread loops over the query API (runs list, run detail, tasks, dashboard,
agents, LLM usage, export) over one keep-alive HTTP connection and records:

* every error: a status other than 200 (a run the list named must be found), a failed
  connection, a body that does not parse;
* torn reads (`detail_problems`): in a run detail, the run's totals (span counts, task
  count, cost) against the spans of the same response; a run whose crew span came last must
  be whole, tokens and LLM calls included; in the dashboard and LLM usage, parts that must
  agree (`SAME_RESPONSE`);
* observations of totals that may only grow (`Observation`), for `monotone_violations`:
  a read that started after another one ended must not show less.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.reliability.serve_proc import API
from tests.reliability.split_runs import SentRun

TOLERANCE = {"rel_tol": 1e-9, "abs_tol": 1e-12}


@dataclass(frozen=True)
class Observation:
    metric: str
    start: float
    end: float
    value: float


def walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node["children"])


def detail_problems(body: Mapping[str, Any], sent: SentRun | None) -> list[str]:
    """Where a run detail disagrees with its own spans (or with the run as it was sent)."""
    nodes = list(walk(body["spans"]))
    ops = [n["operation"] for n in nodes]
    chats = [n for n in nodes if n["operation"] == "chat"]
    costs = [n["cost_usd"] for n in chats if n["cost_usd"] is not None]
    counts = body["counts"]
    tree = {
        "spans": len(nodes), "tasks": ops.count("invoke_agent"),
        "steps": sum(1 for n in nodes if n["name"].startswith("step ")),
        "llm_calls": len(chats), "tool_calls": ops.count("execute_tool"),
        "errors": sum(1 for n in nodes if n["status"] == "error"),
    }  # fmt: skip
    bad = [f"counts.{k} {counts[k]} but {v} in the tree" for k, v in tree.items() if counts[k] != v]
    if body["task_count"] != tree["tasks"]:
        bad.append(f"task_count {body['task_count']} but {tree['tasks']} tasks in the tree")
    if len(body["errors"]) != tree["errors"]:
        bad.append(f"{len(body['errors'])} errors listed, {tree['errors']} error spans")
    cost, want = body["cost_usd"], (sum(costs) if costs else None)
    if (cost is None) != (want is None) or (
        cost is not None and not math.isclose(cost, want, **TOLERANCE)
    ):
        bad.append(f"cost_usd {cost} but the tree's LLM calls cost {want}")
    if len(body["spans"]) != 1 or body["spans"][0]["span_id"] != body["run_id"]:
        bad.append(f"the tree's roots are {[n['span_id'] for n in body['spans']]}")
    if sent is None:
        bad.append("a run that no writer sent")
    unknown = {n["span_id"] for n in nodes} - (sent.span_ids if sent else set())
    if unknown and sent is not None:
        bad.append(f"{len(unknown)} spans the run was not sent with")
    if (
        sent is not None and not sent.late
    ):  # its crew span came last: when the run is visible, all of it is there
        whole = {
            "spans": (len(nodes), sent.totals.spans),
            "input_tokens": (body["input_tokens"], sum(n["input_tokens"] or 0 for n in chats)),
            "output_tokens": (body["output_tokens"], sum(n["output_tokens"] or 0 for n in chats)),
            "llm_calls": (body["llm_calls"], len(chats)),
        }
        bad += [f"{k}: {got} but {want} in the tree" for k, (got, want) in whole.items()
                if got != want]  # fmt: skip
    late = " (late)" if sent is not None and sent.late else ""
    return [f"run {body['run_id']}{late}: {b}" for b in bad]


def monotone_violations(observations: list[Observation]) -> list[str]:
    """Reads that showed less than a read of the same metric that had ended before they began."""
    bad: list[str] = []
    by_metric: dict[str, list[Observation]] = {}
    for o in observations:
        by_metric.setdefault(o.metric, []).append(o)
    for metric, obs in by_metric.items():
        ended = sorted(obs, key=lambda o: o.end)
        best: Observation | None = None
        i = 0
        for o in sorted(obs, key=lambda o: o.start):
            while i < len(ended) and ended[i].end < o.start:
                if best is None or ended[i].value > best.value:
                    best = ended[i]
                i += 1
            if best is not None and o.value < best.value:
                bad.append(f"{metric}: {o.value} after {best.value} had been read")
    return bad


def _sum(rows: list[dict[str, Any]], key: str) -> float:
    return float(sum(r[key] or 0 for r in rows))


def _day(body: dict[str, Any]) -> dict[str, Any]:
    [day] = [t for t in body["totals"] if t["period"] == "24h"]
    return day


# path -> metrics read from its body (each may only grow)
TOTALS: dict[str, Callable[[Any], dict[str, float]]] = {
    "/tasks?limit=20": lambda b: {"tasks.total": b["total"]},
    "/dashboard": lambda b: {
        f"dashboard.24h.{k}": _day(b)[k]
        for k in ("runs", "failed_runs", "executions", "input_tokens", "output_tokens")
    },
    "/agents": lambda b: {
        "agents.total_executions": _sum(b["agents"], "total_executions"),
        "agents.input_tokens": _sum(b["agents"], "input_tokens"),
    },
    "/llm": lambda b: {
        "llm.calls": _sum(b["by_model"], "calls"),
        "llm.input_tokens": _sum(b["by_model"], "input_tokens"),
    },
    "/export/runs?format=json": lambda b: {"export.runs": len(b)},
}


def dashboard_problems(body: dict[str, Any]) -> list[str]:
    """Every run is minutes old: the 24h, 7d and 30d totals, the daily trend and the agents
    (all three are among the top five) must count the same executions."""
    periods = {t["period"]: t for t in body["totals"]}
    keys = ("runs", "failed_runs", "executions", "input_tokens", "output_tokens")
    seen = {p: tuple(periods[p][k] for k in keys) for p in ("24h", "7d", "30d")}
    bad = [f"/dashboard totals differ by period: {seen}"] if len(set(seen.values())) > 1 else []
    executions = periods["30d"]["executions"]
    trend = sum(p["executions"] for p in body["executions_trend"])
    agents = sum(a["total_executions"] for a in body["top_agents"])
    if not trend == agents == executions:
        bad.append(f"/dashboard executions: {executions} in totals, {trend} in the trend, "
                   f"{agents} over the top agents")  # fmt: skip
    return bad


def llm_problems(body: dict[str, Any]) -> list[str]:
    """Every LLM call has a model and an agent: both breakdowns sum to the same totals."""
    keys = ("calls", "input_tokens", "output_tokens")
    models = tuple(_sum(body["by_model"], k) for k in keys)
    agents = tuple(_sum(body["by_agent"], k) for k in keys)
    return [] if models == agents else [f"/llm by model {models}, by agent {agents}"]


SAME_RESPONSE: dict[str, Callable[[Any], list[str]]] = {
    "/dashboard": dashboard_problems,
    "/llm": llm_problems,
}
"""Checks of one response against itself (parts of it read by separate statements)."""
EXPORT_EVERY = 8
"""An export reads every run: one reader loop in this many asks for it."""


@dataclass(eq=False)  # a thread stays hashable (threading keeps them in weak sets)
class ApiReader(threading.Thread):
    url: str
    sent: Mapping[str, SentRun]
    stop_event: threading.Event
    seed: int
    arriving: Callable[[], list[SentRun]] = list
    """Runs visible but still arriving: one detail per loop reads one of them."""
    errors: list[str] = field(default_factory=list)
    torn: list[str] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    calls: int = 0
    details: int = 0
    incomplete_details: int = 0
    arriving_details: int = 0
    """Details of late runs read before their last part had arrived."""
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(name=f"reader-{self.seed}", daemon=True)
        self.rng = random.Random(self.seed)

    def get(self, client: httpx.Client, path: str, key: str | None = None) -> Any:
        t0 = time.monotonic()
        self.calls += 1
        try:
            resp = client.get(f"{API}{path}")
            body = json.loads(resp.content) if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            self.errors.append(f"GET {path}: {type(exc).__name__}: {exc}")
            return None
        t1 = time.monotonic()
        self.latencies.setdefault(key or path, []).append(t1 - t0)
        if body is None:
            self.errors.append(f"GET {path}: {resp.status_code} {resp.text[:300]}")
            return None
        check = SAME_RESPONSE.get(path)
        self.torn += check(body) if check else []
        extract = TOTALS.get(path)
        for metric, value in (extract(body) if extract else {}).items():
            self.observations.append(Observation(metric, t0, t1, value))
        return body, t0, t1

    def loop(self, client: httpx.Client, n: int) -> None:
        got = self.get(client, "/runs?limit=20")
        if got is None:
            return
        page, t0, t1 = got
        self.observations.append(Observation("runs.total", t0, t1, page["total"]))
        picks = [r["run_id"] for r in self.rng.sample(page["runs"], min(1, len(page["runs"])))]
        if arriving := self.arriving():
            picks.append(self.rng.choice(arriving).run_id)
            self.arriving_details += 1
        for run_id in picks:
            detail = self.get(client, f"/runs/{run_id}", "/runs/{id}")
            if detail is None:
                continue
            body = detail[0]
            sent = self.sent.get(body["run_id"])
            self.details += 1
            self.torn += detail_problems(body, sent)
            if sent is not None and len(list(walk(body["spans"]))) < sent.totals.spans:
                self.incomplete_details += 1
        paths = [p for p in TOTALS if "export" not in p]
        self.get(client, paths[n % len(paths)])
        if n % EXPORT_EVERY == EXPORT_EVERY - 1:
            self.get(client, "/export/runs?format=json")

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            n = 0
            while not self.stop_event.is_set():
                self.loop(client, n)
                n += 1
