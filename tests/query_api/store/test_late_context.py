"""A peer's spans take agent, task and crew from enclosing spans that land in later batches.

OpenInference-shaped spans go to a real `crewscope serve` over OTLP/HTTP with the official
exporter in three batches, as a BatchSpanProcessor exports them when the work outlasts its
schedule delay: the calls (and a step span between the agent and a call) first, the task
(AGENT) span next, the crew span last. The projection sync fills what row conversion could
not (query_api/store/late_agents.py): the task's crew, the calls' agent and crew, in the
projections and in the stored spans, so the task list, the agent list, an agent's activity,
a run's span tree and the token series by crew answer as if the spans came in one batch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from crewscope.query_api.store.projections import ORPHANS_KEY
from tests.helpers.served import API, Served, wait_until
from tests.query_api.store.test_late_agent import CREW, LLM, STEP, TOOL, _end, _start

CREW_NAME = "late_crew"
AGENT = {"openinference.span.kind": "AGENT", "graph.node.id": "Researcher", "task_name": "t"}
TABLES = {
    "tasks": 'SELECT "SpanId", "RunId", "CrewName", "AgentName", "TaskName" FROM crewscope_tasks',
    "llm": 'SELECT "SpanId", "AgentName", "InputTokens" FROM crewscope_llm_calls',
    "tools": 'SELECT "SpanId", "AgentName", "ToolName" FROM crewscope_tool_calls',
    "hourly": 'SELECT "Hour", "AgentName", "Executions", "LlmCalls", round("CostUsd", 12) '
    "FROM crewscope_agent_hourly",
    "spans": 'SELECT "SpanId", "AgentName", "TaskName", "CrewName" FROM otel_traces '
    "WHERE \"ServiceName\" = 'peer_app'",
}  # fmt: skip


def _get(served: Served, path: str, **params: Any) -> Any:
    response = httpx.get(f"{served.url}{API}/{path}", params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def _tables(served: Served) -> dict[str, list[tuple[Any, ...]]]:
    return {name: sorted(served.rows(sql), key=repr) for name, sql in TABLES.items()}


def _flat(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        out[node["name"]] = node
        stack.extend(node["children"])
    return out


def test_task_crew_and_call_context_from_later_batches(
    make_served: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREWSCOPE_INGEST_DECODE_WORKERS", "0")
    served = make_served()
    provider = TracerProvider(resource=Resource.create({"service.name": "peer_app"}))
    processor = BatchSpanProcessor(
        OTLPSpanExporter(f"{served.url}/v1/traces"), schedule_delay_millis=600_000
    )
    provider.add_span_processor(processor)
    oi = provider.get_tracer("openinference.instrumentation.crewai")
    t = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5)
    s = timedelta(seconds=1)
    llm = {**LLM, "llm.token_count.prompt": 40, "llm.token_count.completion": 5}
    try:
        crew = _start(oi, f"{CREW_NAME}.kickoff", CREW, None, t)
        task = _start(oi, "Researcher.t._execute_core", AGENT, crew, t + s)
        step = _start(oi, "step", STEP, task, t + 2 * s)
        call = _start(oi, "ChatCompletion", llm, step, t + 3 * s)
        tool = _start(oi, "word_counter.run", TOOL, task, t + 5 * s)
        beside = _start(oi, "Summary", {**llm, "llm.token_count.prompt": 7}, crew, t + 8 * s)
        # batch 1: the calls; batch 2: their task; batch 3: the crew
        _end(processor, (call, t + 4 * s), (step, t + 4 * s), (tool, t + 6 * s),
             (beside, t + 9 * s))  # fmt: skip
        wait_until(lambda: _get(served, "llm")["by_agent"], what="the calls")
        _end(processor, (task, t + 7 * s))
        [first] = wait_until(lambda: _get(served, "tasks")["tasks"], what="the task")
        assert (first["agent"], first["crew"]) == ("Researcher", None)  # its crew not in yet
        _end(processor, (crew, t + 10 * s))
        wait_until(lambda: _get(served, "runs")["runs"], what="the crew run")
    finally:
        provider.shutdown()

    [run] = _get(served, "runs")["runs"]
    assert (run["crew"], run["input_tokens"]) == (CREW_NAME, 47)
    [got] = _get(served, "tasks")["tasks"]
    assert (got["agent"], got["task"], got["crew"], got["run_id"]) == (
        "Researcher", "t", CREW_NAME, run["run_id"],
    )  # fmt: skip
    [agent] = _get(served, "agents")["agents"]
    assert (agent["agent"], agent["crew"]) == ("Researcher", CREW_NAME)

    # the stored spans name what they inherit (the call beside the agent: the crew only)
    spans = {row[0]: row[1:] for row in served.rows(TABLES["spans"])}
    ids = {n: f"{sp.get_span_context().span_id:016x}" for n, sp in  # type: ignore[attr-defined]
           (("call", call), ("tool", tool), ("beside", beside), ("task", task))}  # fmt: skip
    assert spans[ids["call"]] == ("Researcher", "t", CREW_NAME)
    assert spans[ids["tool"]] == ("Researcher", "t", CREW_NAME)
    assert spans[ids["beside"]] == (None, None, CREW_NAME)
    assert spans[ids["task"]] == ("Researcher", "t", CREW_NAME)

    # the run's span tree: the step span between (not filled in the spans) inherits too
    tree = _flat(_get(served, f"runs/{run['run_id']}")["spans"])
    assert {name: (n["agent"], n["task"]) for name, n in tree.items()} == {
        f"{CREW_NAME}.kickoff": (None, None), "Researcher.t._execute_core": ("Researcher", "t"),
        "step": ("Researcher", "t"), "ChatCompletion": ("Researcher", "t"),
        "word_counter.run": ("Researcher", "t"), "Summary": (None, None),
    }  # fmt: skip
    task_tree = _flat(_get(served, f"tasks/{ids['task']}")["spans"])
    assert task_tree["step"]["agent"] == "Researcher"

    # the agent's activity: its task, its LLM call (40 tokens) and its tool call
    lines = _get(served, "agents/Researcher/activity")["activity"]
    assert sorted(line["kind"] for line in lines) == [
        "llm_call", "task_finished", "task_started", "tool_call",
    ]  # fmt: skip
    # LLM calls by crew: both, the one beside the agent too
    series = _get(served, "metrics/tokens/series", group_by="crew", resolution="1h")["series"]
    by_crew = {x["key"]: sum(p["input_tokens"] for p in x["points"]) for x in series}
    assert by_crew == {CREW_NAME: 47}

    # a rebuild (one window over every span) gives the same tables
    before = _tables(served)
    db = served.app.state.db
    with db.reader() as session:
        db.projections.rebuild(session)
    assert _tables(served) == before


def test_crewscope_spans_never_start_the_late_path(make_served: Callable[..., Served]) -> None:
    # a standalone agent run of crewscope's own (a task without a crew) and a flow's LLM call
    # without an agent: nothing an enclosing span could add, so the sync never looks
    served = make_served()
    provider = TracerProvider(resource=Resource.create({"service.name": "own_app"}))
    processor = BatchSpanProcessor(
        OTLPSpanExporter(f"{served.url}/v1/traces"), schedule_delay_millis=600_000
    )
    provider.add_span_processor(processor)
    own = provider.get_tracer("crewscope.instrumentation.crewai")
    t = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5)
    s = timedelta(seconds=1)
    run = {"crewscope.run.id": "r1", "gen_ai.operation.name": "invoke_agent",
           "gen_ai.agent.name": "Solo"}  # fmt: skip
    chat = {"crewscope.run.id": "r2", "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 3}  # fmt: skip
    try:
        agent = _start(own, "invoke_agent Solo", run, None, t)
        flow_call = _start(own, "chat gpt-4o-mini", chat, None, t + s)
        _end(processor, (flow_call, t + 2 * s), (agent, t + 3 * s))
        wait_until(lambda: _get(served, "agents")["agents"], what="the agent")
    finally:
        provider.shutdown()
    assert served.rows('SELECT "Value" FROM crewscope_meta WHERE "Key" = ?', [ORPHANS_KEY]) == [
        ("0",)
    ]
