"""A peer's LLM and tool calls take their agent from an agent span that lands after them.

OpenInference-shaped spans (the LLM calls name no agent; their AGENT span does) go to a real
`crewscope serve` over OTLP/HTTP with the official exporter in two batches: the calls first
(as a BatchSpanProcessor exports them when the agent's work outlasts its schedule delay),
their agent and crew spans later. Row conversion cannot name the calls' agent then; the
projection sync does once the agent span lands (query_api/store/late_agents.py), in the LLM
usage, the agent list, the hourly sums, the rollups and the tool usage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from crewscope.exporter.pricing import cost_usd
from crewscope.query_api.store.windows import floor_hour
from tests.helpers.served import API, Served, wait_until

MODEL = "gpt-4o-mini"
CREW = {"openinference.span.kind": "CHAIN", "crew_key": "k", "crew_id": "c1"}
LLM = {"openinference.span.kind": "LLM", "llm.provider": "openai", "llm.model_name": MODEL}
STEP = {"openinference.span.kind": "CHAIN"}  # a span between the agent and its LLM call
TOOL = {"openinference.span.kind": "TOOL", "tool.name": "word_counter"}
CALLS = {"Researcher": [(120, 40), (300, 75)], "Writer": [(210, 60)]}
"""(prompt, completion) tokens of each agent's LLM calls."""


def _ns(ts: datetime) -> int:
    return int(ts.replace(tzinfo=timezone.utc).timestamp() * 1e9)


class PeerCrew:
    """One OpenInference-shaped crew run per agent: its spans, ended by `end_calls` (the
    LLM, step and tool spans) and `end_agents` (the AGENT and crew spans) at fixed times."""

    def __init__(self, url: str) -> None:
        self.provider = TracerProvider(resource=Resource.create({"service.name": "peer_app"}))
        # both batches flushed by hand: nothing is exported on the processor's schedule
        self.processor = BatchSpanProcessor(
            OTLPSpanExporter(f"{url}/v1/traces"), schedule_delay_millis=600_000
        )
        self.provider.add_span_processor(self.processor)
        self.crewai = self.provider.get_tracer("openinference.instrumentation.crewai")
        self.openai = self.provider.get_tracer("openinference.instrumentation.openai")
        self.calls: list[tuple[Span, int]] = []
        self.outer: list[tuple[Span, int]] = []

    def run(self, agent: str, start: datetime, span_s: float) -> None:
        """`agent`'s run starting at `start`, each of its spans `span_s` long or shorter."""
        t, step = _ns(start), int(span_s * 1e9 / 10)
        crew = self.crewai.start_span(
            f"{agent.lower()}_crew.kickoff", attributes=CREW, start_time=t
        )
        attrs = {"openinference.span.kind": "AGENT", "graph.node.id": agent, "task_name": "t"}
        task = self.crewai.start_span(
            f"{agent}.t._execute_core", trace.set_span_in_context(crew), attributes=attrs,
            start_time=t + step,
        )  # fmt: skip
        in_task = trace.set_span_in_context(task)
        at = t + 2 * step
        for i, (prompt, completion) in enumerate(CALLS[agent]):
            parent = in_task
            if i == 1:  # the second call sits under a step span that names no agent either
                inner = self.crewai.start_span("step", in_task, attributes=STEP, start_time=at)
                self.calls.append((inner, at + 3 * step))
                parent, at = trace.set_span_in_context(inner), at + step
            tokens = {"llm.token_count.prompt": prompt, "llm.token_count.completion": completion}
            call = self.openai.start_span(
                "ChatCompletion", parent, attributes={**LLM, **tokens}, start_time=at
            )
            self.calls.append((call, at + step))
            at += 2 * step
        if agent == "Researcher":
            tool = self.crewai.start_span(
                "word_counter.run", in_task, attributes=TOOL, start_time=at
            )
            self.calls.append((tool, at + step))
        self.outer += [(task, t + 9 * step), (crew, t + 10 * step)]

    def end_calls(self) -> None:
        self._end(self.calls)

    def end_agents(self) -> None:
        self._end(self.outer)

    def _end(self, spans: list[tuple[Span, int]]) -> None:
        for span, end in spans:
            span.end(end_time=end)
        assert self.processor.force_flush(30_000)

    def shutdown(self) -> None:
        self.provider.shutdown()


def _get(served: Served, path: str, **params: Any) -> Any:
    response = httpx.get(f"{served.url}{API}/{path}", params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def _by_agent(served: Served) -> dict[str | None, dict[str, Any]]:
    return {a["agent"]: a for a in _get(served, "llm")["by_agent"]}


def test_calls_take_the_agent_of_a_later_agent_span(
    make_served: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    # decoded in the server: one cache of the trace for both batches (tokens of the agent
    # span are summed from its calls across batches; see exporter/peer_traces.py)
    monkeypatch.setenv("CREWSCOPE_INGEST_DECODE_WORKERS", "0")
    served = make_served()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    peers = PeerCrew(served.url)
    # the Researcher's run 3 hours ago (a whole hour: the hourly sums answer for it), the
    # Writer's in the current hour (the raw rows of a window's edge answer for it)
    peers.run("Researcher", now - timedelta(hours=3), 60.0)
    this_hour = max(floor_hour(now), now - timedelta(seconds=20))
    peers.run("Writer", this_hour, (now - this_hour).total_seconds() * 0.9)
    expected = {
        agent: (
            len(calls), sum(p for p, _ in calls), sum(c for _, c in calls),
            sum(cost_usd(MODEL, "openai", p, c) or 0 for p, c in calls),
        )
        for agent, calls in CALLS.items()
    }  # fmt: skip
    total_cost = sum(e[3] for e in expected.values())
    assert total_cost > 0
    try:
        # batch 1: the calls, stored and synced without an agent
        peers.end_calls()
        first = wait_until(lambda: _by_agent(served).get(None), what="the calls without agent")
        assert (first["calls"], first["cost_usd"]) == (3, pytest.approx(total_cost))
        assert _get(served, "agents")["agents"] == []

        # batch 2: their agent spans (and the crew spans)
        peers.end_agents()
        wait_until(lambda: len(_get(served, "agents")["agents"]) == 2, what="the agents")
    finally:
        peers.shutdown()

    usage = _by_agent(served)
    assert set(usage) == {"Researcher", "Writer"}, usage  # none left without an agent
    for agent, (n, prompt, completion, cost) in expected.items():
        got = usage[agent]
        assert (got["calls"], got["input_tokens"], got["output_tokens"]) == (n, prompt, completion)
        assert got["cost_usd"] == pytest.approx(cost)

    # the agent list: tokens from the AGENT spans, cost from the hourly sums (Researcher)
    # and from the LLM calls of the current hour (Writer)
    agents = {a["agent"]: a for a in _get(served, "agents")["agents"]}
    for agent, (_, prompt, completion, cost) in expected.items():
        got = agents[agent]
        assert (got["total_executions"], got["input_tokens"], got["output_tokens"]) == (
            1, prompt, completion,
        )  # fmt: skip
        assert got["cost_usd"] == pytest.approx(cost), agent
        metrics = _get(served, f"agents/{agent}/metrics")
        assert metrics["cost_usd"] == pytest.approx(cost), agent
    # the hourly sums moved the calls out of the no-agent bucket (its rows left empty are
    # gone, as a rebuild makes none): every total is the same
    assert _get(served, "dashboard")["totals"][0]["cost_usd"] == pytest.approx(total_cost)
    hourly = dict(served.rows(
        'SELECT "AgentName", sum("LlmCalls") FROM crewscope_agent_hourly GROUP BY ALL'
    ))  # fmt: skip
    assert hourly == {"Researcher": 2, "Writer": 1}

    # daily rollups (cost per agent from its LLM calls)
    r = httpx.post(f"{served.url}{API}/rollups/refresh", timeout=60)
    r.raise_for_status()
    for agent, (_, prompt, completion, cost) in expected.items():
        got = _get(served, f"agents/{agent}/metrics", metric_type="aggregated")
        assert (got["total_executions"], got["input_tokens"], got["output_tokens"]) == (
            1, prompt, completion,
        ), agent  # fmt: skip
        assert got["cost_usd"] == pytest.approx(cost), agent
    rows = _get(served, "rollups/daily", agent="Researcher")["rows"]
    assert sum(row["cost_usd"] or 0 for row in rows) == pytest.approx(expected["Researcher"][3])

    # tool calls too
    tools = _get(served, "tools", agent="Researcher")["tools"]
    assert [(t["tool"], t["calls"]) for t in tools] == [("word_counter", 1)]


def _start(tracer: trace.Tracer, name: str, attrs: dict[str, Any], parent: Span | None,
           at: datetime) -> Span:  # fmt: skip
    ctx = trace.set_span_in_context(parent) if parent is not None else None
    return tracer.start_span(name, ctx, attributes=attrs, start_time=_ns(at))  # type: ignore[return-value]


def _end(processor: BatchSpanProcessor, *spans: tuple[Span, datetime]) -> None:
    for span, at in spans:
        span.end(end_time=_ns(at))
    assert processor.force_flush(30_000)


def _agent_attrs(agent: str) -> dict[str, Any]:
    return {"openinference.span.kind": "AGENT", "graph.node.id": agent}


def _call(tokens: int, model: str = MODEL) -> dict[str, Any]:
    return {**LLM, "llm.model_name": model, "llm.token_count.prompt": tokens,
            "llm.token_count.completion": 1}  # fmt: skip


def _answers(served: Served) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    calls = served.rows(
        'SELECT "AgentName", count(*), sum("InputTokens"), round(sum("CostUsd"), 12) '
        "FROM crewscope_llm_calls GROUP BY ALL ORDER BY ALL"
    )
    hourly = served.rows(
        'SELECT "Hour", "AgentName", "Executions", "LlmCalls", round("CostUsd", 12) '
        "FROM crewscope_agent_hourly ORDER BY ALL"
    )
    return calls, hourly


def test_agent_first_parallel_branches_many_hours_and_rebuild(
    make_served: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crewscope.exporter.peer_traces import DEFAULT_CACHE

    monkeypatch.setenv("CREWSCOPE_INGEST_DECODE_WORKERS", "0")
    served = make_served()
    provider = TracerProvider(resource=Resource.create({"service.name": "peer_app"}))
    processor = BatchSpanProcessor(
        OTLPSpanExporter(f"{served.url}/v1/traces"), schedule_delay_millis=600_000
    )
    provider.add_span_processor(processor)
    oi = provider.get_tracer("openinference.instrumentation.crewai")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    s = timedelta(seconds=1)
    try:
        # the agent span first, its call later: the cache that saw the agent span is gone
        # (another decode worker, a restart), so only the stored task can name the agent
        t = now - timedelta(hours=5)
        crew = _start(oi, "a_crew.kickoff", CREW, None, t)
        planner = _start(oi, "Planner.plan", _agent_attrs("Planner"), crew, t + s)
        late_call = _start(oi, "ChatCompletion", _call(11), planner, t + 2 * s)
        _end(processor, (planner, t + 9 * s), (crew, t + 10 * s))
        wait_until(lambda: _get(served, "agents")["agents"], what="the Planner's task")
        DEFAULT_CACHE.clear()
        _end(processor, (late_call, t + 3 * s))

        # a call beside the agent, not under it: it keeps no agent (and, of a model without a
        # price, leaves its hour's no-agent cost NULL once the priced call under it moved out)
        crew = _start(oi, "b_crew.kickoff", CREW, None, t)
        beside = _start(oi, "ChatCompletion", _call(13, "in-house-model"), crew, t + 2 * s)
        critic = _start(oi, "Critic.review", _agent_attrs("Critic"), crew, t + s)
        under = _start(oi, "ChatCompletion", _call(17), critic, t + 4 * s)
        _end(processor, (beside, t + 3 * s), (under, t + 5 * s))
        wait_until(lambda: _by_agent(served).get(None), what="the calls without agent")
        _end(processor, (critic, t + 9 * s), (crew, t + 10 * s))

        # an agent working for 72 hours, one call an hour: more hours than the point updates
        # of the hourly sums take (the bulk upsert moves them)
        t = now - timedelta(hours=80)
        crew = _start(oi, "c_crew.kickoff", CREW, None, t)
        archivist = _start(oi, "Archivist.archive", _agent_attrs("Archivist"), crew, t + s)
        hour = timedelta(hours=1)
        calls = [
            (_start(oi, "ChatCompletion", _call(100 + i), archivist, t + i * hour + 60 * s),
             t + i * hour + 70 * s)
            for i in range(70)
        ]  # fmt: skip
        _end(processor, *calls)
        wait_until(lambda: _by_agent(served)[None]["calls"] == 71, what="the 70 calls")
        _end(processor, (archivist, t + 72 * hour), (crew, t + 73 * hour))
        wait_until(lambda: len(_get(served, "agents")["agents"]) == 3, what="three agents")
    finally:
        provider.shutdown()

    usage = _by_agent(served)
    assert {a: (u["calls"], u["input_tokens"]) for a, u in usage.items()} == {
        "Planner": (1, 11), None: (1, 13), "Critic": (1, 17),
        "Archivist": (70, sum(range(100, 170))),
    }  # fmt: skip
    agents = {a["agent"]: a for a in _get(served, "agents")["agents"]}
    cost = {a: u["cost_usd"] for a, u in usage.items()}
    for agent in ("Planner", "Critic", "Archivist"):
        assert agents[agent]["cost_usd"] == pytest.approx(cost[agent]), agent
    hourly_calls = served.rows(
        'SELECT "AgentName", sum("LlmCalls") FROM crewscope_agent_hourly GROUP BY ALL'
    )
    assert dict(hourly_calls) == {"Planner": 1, "Critic": 1, "Archivist": 70, "": 1}
    assert usage[None]["cost_usd"] is None
    assert served.rows('SELECT "CostUsd" FROM crewscope_agent_hourly WHERE "AgentName" = \'\'') == [
        (None,)
    ]

    # a rebuild (one window over every span) answers the same
    before = _answers(served)
    db = served.app.state.db
    with db.reader() as session:
        db.projections.rebuild(session)
    assert _answers(served) == before
