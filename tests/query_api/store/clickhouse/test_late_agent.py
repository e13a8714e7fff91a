"""On ClickHouse, a peer's LLM and tool calls take their agent from an agent span that lands
after them (query_api/store/clickhouse/sql/schema_late_agents.sql).

OpenInference-shaped spans (the LLM calls name no agent; their AGENT span does) go to a real
`crewscope serve --store chdb://...` over OTLP/HTTP with the official exporter in two
batches: the calls first (as a BatchSpanProcessor exports them when the agent's work outlasts
its schedule delay), their agent and crew spans later. Row conversion cannot name the calls'
agent then; ClickHouse's views do once the agent span lands: the LLM usage, the agent list,
the hourly and daily sums, the raw call rows and the tool usage give the agent (and a task
whose crew span lands later its crew), every total unchanged, and another query process and
a rebuild of every derived table answer the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from crewscope.exporter.peer_traces import DEFAULT_CACHE
from crewscope.exporter.pricing import cost_usd
from crewscope.query_api.app import create_app
from crewscope.query_api.store.clickhouse.layout import STAMP
from crewscope.query_api.store.windows import floor_hour
from tests.helpers.engines import chdb_store
from tests.helpers.served import API, serve_app, wait_until
from tests.query_api.store.test_late_agent import (
    CALLS,
    CREW,
    LLM,
    MODEL,
    PeerCrew,
    _agent_attrs,
    _call,
    _end,
    _start,
)


class Server:
    """`crewscope serve` on a chDB store, under uvicorn in this process."""

    def __init__(self, store: str) -> None:
        self.app = create_app(store, rollup_interval_s=0, retention_days=None)
        self.server, self.thread, port = serve_app(self.app)
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{API}/{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def by_agent(self) -> dict[str | None, dict[str, Any]]:
        by_agent = self.get("llm")["by_agent"]
        assert all(a["calls"] for a in by_agent), by_agent  # no bucket emptied by the moves
        return {a["agent"]: a for a in by_agent}

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.app.state.db._guard as client:
            return [tuple(r) for r in client.query(sql).result_rows]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def store() -> str:
    return chdb_store("late_agent")


def _rounded(value: Any) -> Any:
    """Floats to 12 significant digits: ClickHouse sums in parallel, in no fixed order, so a
    rebuilt table's float sums may differ from the incremental ones in the last bits."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_rounded(v) for v in value)
    return value


def _price_new_models(server: Server) -> None:
    """Price the models seen so far now: requests do it at most every 2 s (prices.py), so a
    model that first landed since then is unpriced until the next; a rebuild prices it."""
    db = server.app.state.db
    with db.reader() as s:
        db.projections.sync(s, force=True)


def _answers(server: Server) -> dict[str, Any]:
    """What the agent-facing endpoints and the tables under them say (floats rounded)."""
    llm = server.get("llm")
    out: dict[str, Any] = {
        "llm": llm,
        "agents": server.get("agents"),
        "tools": server.get("tools"),
        "dashboard": server.get("dashboard")["totals"],
        "tasks": server.get("tasks"),
    }
    for agent in ("Researcher", "Writer", "Planner", "Critic", "Archivist"):
        out[agent] = server.get("tools", agent=agent)
    out["calls"] = server.rows(
        'SELECT "AgentName", count(), sum("InputTokens") FROM crewscope_llm_call_rows '
        'GROUP BY "AgentName" ORDER BY "AgentName"'
    )
    out["tool_rows"] = server.rows(
        'SELECT "AgentName", count() FROM crewscope_tool_calls GROUP BY "AgentName" '
        'ORDER BY "AgentName"'
    )
    out["hourly"] = server.rows(
        'SELECT "Hour", "AgentName", sum("Calls"), sum("InputTokens"), sum("OutputTokens") '
        'FROM crewscope_llm_hourly_sums GROUP BY "Hour", "AgentName" '
        'HAVING sum("Calls") != 0 OR sum("InputTokens") != 0 ORDER BY "Hour", "AgentName"'
    )
    out["spans"] = server.rows(  # what the trace views and an agent's activity read
        'SELECT "GenAiOperation", "AgentName", "CrewName", count() FROM crewscope_spans '
        "WHERE \"ServiceName\" = 'peer_app' GROUP BY ALL ORDER BY ALL"
    )
    out["daily"] = server.rows(
        'SELECT "Day", "AgentName", sum("PricedCalls"), sum("InputTokens") '
        'FROM crewscope_llm_daily_sums GROUP BY "Day", "AgentName" ORDER BY "Day", "AgentName"'
    )
    return _rounded(out)  # type: ignore[no-any-return]


def _task_crews(server: Server, agent: str) -> list[str | None]:
    return [t["crew"] for t in server.get("tasks", agent=agent)["tasks"]]


def _rebuilt(store: str) -> Server:
    """Every stamped table of `store` marked as of an older layout, then the store opened by
    a new query process: it rebuilds and refills them all (layout.py)."""
    server = Server(store)
    tables = server.rows(
        "SELECT name FROM system.tables WHERE database = currentDatabase() "
        f"AND startsWith(comment, '{STAMP}')"
    )
    with server.app.state.db._guard as client:
        for (name,) in tables:
            client.command(f"ALTER TABLE `{name}` MODIFY COMMENT '{STAMP}0'")
    server.stop()
    return Server(store)


def test_calls_take_the_agent_of_a_later_agent_span(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREWSCOPE_INGEST_DECODE_WORKERS", "0")
    server = Server(store)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    peers = PeerCrew(server.url)
    # the Researcher's run 3 hours ago (whole hours: the hourly sums answer for it), the
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
        # batch 1: the calls, stored without an agent
        peers.end_calls()
        first = wait_until(lambda: server.by_agent().get(None), what="the calls without agent")
        wait_until(lambda: server.by_agent()[None]["cost_usd"], what="the calls priced")
        assert (first["calls"], server.by_agent()[None]["cost_usd"]) == (
            3, pytest.approx(total_cost),
        )  # fmt: skip
        assert server.get("agents")["agents"] == []

        # batch 2: their agent spans (and the crew spans)
        peers.end_agents()
        wait_until(lambda: len(server.get("agents")["agents"]) == 2, what="the agents")
    finally:
        peers.shutdown()

    usage = server.by_agent()
    assert set(usage) == {"Researcher", "Writer"}, usage  # none left without an agent
    for agent, (n, prompt, completion, cost) in expected.items():
        got = usage[agent]
        assert (got["calls"], got["input_tokens"], got["output_tokens"]) == (n, prompt, completion)
        assert got["cost_usd"] == pytest.approx(cost)
    agents = {a["agent"]: a for a in server.get("agents")["agents"]}
    for agent, (_, prompt, completion, cost) in expected.items():
        got = agents[agent]
        assert (got["total_executions"], got["input_tokens"], got["output_tokens"]) == (
            1, prompt, completion,
        )  # fmt: skip
        assert got["cost_usd"] == pytest.approx(cost), agent
        metrics = server.get(f"agents/{agent}/metrics")
        assert metrics["cost_usd"] == pytest.approx(cost), agent
        aggregated = server.get(f"agents/{agent}/metrics", metric_type="aggregated")
        assert aggregated["cost_usd"] == pytest.approx(cost), agent
    assert server.get("dashboard")["totals"][0]["cost_usd"] == pytest.approx(total_cost)
    # the hourly sums moved the calls out of the no-agent bucket; the raw rows name the agent
    hourly = dict(server.rows(
        'SELECT "AgentName", toInt64(sum("Calls")) FROM crewscope_llm_hourly_sums '
        'GROUP BY "AgentName"'
    ))  # fmt: skip
    assert hourly == {"Researcher": 2, "Writer": 1, "": 0}
    calls = dict(server.rows(
        'SELECT "AgentName", count() FROM crewscope_llm_call_rows GROUP BY "AgentName"'
    ))  # fmt: skip
    assert calls == {"Researcher": 2, "Writer": 1}
    daily = dict(server.rows(
        'SELECT "AgentName", toInt64(sum("InputTokens")) FROM crewscope_llm_daily_sums '
        'GROUP BY "AgentName"'
    ))  # fmt: skip
    assert daily == {a: e[1] for a, e in expected.items()}
    rows = server.get("rollups/daily", agent="Researcher")["rows"]
    assert sum(row["cost_usd"] or 0 for row in rows) == pytest.approx(expected["Researcher"][3])
    tools = server.get("tools", agent="Researcher")["tools"]
    assert [(t["tool"], t["calls"]) for t in tools] == [("word_counter", 1)]
    # the spans name the agent too: its activity lists its LLM and tool calls
    lines = server.get("agents/Researcher/activity")["activity"]
    assert sorted(line["kind"] for line in lines) == [
        "llm_call", "llm_call", "task_finished", "task_started", "tool_call",
    ]  # fmt: skip

    _price_new_models(server)
    before = _answers(server)
    server.stop()
    other = Server(store)  # another query process on the same store
    assert _answers(other) == before
    other.stop()
    rebuilt = _rebuilt(store)
    try:
        assert _answers(rebuilt) == before
    finally:
        rebuilt.stop()


def test_agent_first_parallel_branches_many_hours_and_rebuild(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREWSCOPE_INGEST_DECODE_WORKERS", "0")
    server = Server(store)
    provider = TracerProvider(resource=Resource.create({"service.name": "peer_app"}))
    processor = BatchSpanProcessor(
        OTLPSpanExporter(f"{server.url}/v1/traces"), schedule_delay_millis=600_000
    )
    provider.add_span_processor(processor)
    oi = provider.get_tracer("openinference.instrumentation.crewai")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    s = timedelta(seconds=1)
    try:
        # the agent span first, its call later: the cache that saw the agent span is gone
        # (another decode worker, another serve process), so only the stored span names it
        t = now - timedelta(hours=5)
        crew = _start(oi, "a_crew.kickoff", CREW, None, t)
        planner = _start(oi, "Planner.plan", _agent_attrs("Planner"), crew, t + s)
        late_call = _start(oi, "ChatCompletion", _call(11), planner, t + 2 * s)
        _end(processor, (planner, t + 9 * s), (crew, t + 10 * s))
        wait_until(lambda: server.get("agents")["agents"], what="the Planner's task")
        DEFAULT_CACHE.clear()
        _end(processor, (late_call, t + 3 * s))

        # a call beside the agent, not under it: it keeps no agent
        crew = _start(oi, "b_crew.kickoff", CREW, None, t)
        beside = _start(oi, "ChatCompletion", _call(13), crew, t + 2 * s)
        critic = _start(oi, "Critic.review", _agent_attrs("Critic"), crew, t + s)
        under = _start(oi, "ChatCompletion", _call(17), critic, t + 4 * s)
        _end(processor, (beside, t + 3 * s), (under, t + 5 * s))
        wait_until(lambda: server.by_agent().get(None), what="the calls without agent")
        _end(processor, (critic, t + 9 * s), (crew, t + 10 * s))

        # an agent working for 72 hours, one call an hour
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
        wait_until(lambda: server.by_agent()[None]["calls"] == 71, what="the 70 calls")
        _end(processor, (archivist, t + 72 * hour))
        wait_until(lambda: len(server.get("agents")["agents"]) == 3, what="three agents")
        # the crew span ends last and lands alone: the task takes its crew then
        assert _task_crews(server, "Archivist") == [None]
        _end(processor, (crew, t + 73 * hour))
        wait_until(lambda: server.get("runs")["total"] == 3, what="the three crew runs")
    finally:
        provider.shutdown()

    assert _task_crews(server, "Archivist") == ["c_crew"]
    spans = server.rows(
        'SELECT "CrewName" FROM crewscope_spans '
        "WHERE \"GenAiOperation\" = 'invoke_agent' AND \"AgentName\" = 'Archivist'"
    )
    assert spans == [("c_crew",)]  # the task's span too (the run's tree, the activity)
    tasks = server.get("tasks", crew="c_crew")["tasks"]
    assert [t["agent"] for t in tasks] == ["Archivist"]

    _price_new_models(server)
    usage = server.by_agent()
    assert {a: (u["calls"], u["input_tokens"]) for a, u in usage.items()} == {
        "Planner": (1, 11), None: (1, 13), "Critic": (1, 17),
        "Archivist": (70, sum(range(100, 170))),
    }  # fmt: skip
    agents = {a["agent"]: a for a in server.get("agents", time_range="7d")["agents"]}
    cost = {a: u["cost_usd"] for a, u in usage.items()}
    for agent in ("Planner", "Critic", "Archivist"):
        assert agents[agent]["cost_usd"] == pytest.approx(cost[agent]), agent
    hourly = dict(server.rows(
        'SELECT "AgentName", toInt64(sum("Calls")) FROM crewscope_llm_hourly_sums '
        'GROUP BY "AgentName"'
    ))  # fmt: skip
    assert hourly == {"Planner": 1, "Critic": 1, "Archivist": 70, "": 1}
    assert LLM["llm.model_name"] == MODEL

    _price_new_models(server)
    before = _answers(server)
    server.stop()
    rebuilt = _rebuilt(store)
    try:
        assert _answers(rebuilt) == before
    finally:
        rebuilt.stop()
