"""Browsing runs: GET /runs agent / q / sort / order (and total under them), the runs series
GET /metrics/runs/series, and a flow run's graph in GET /runs/{run_id}.

Two databases: the generated one (`client`, `seeded`: figures computed from the specs) and
one written by the real exporter from real CrewAI runs on the fake LLM (`browse`): a router
loop flow whose crew runs are nested, crews with odd names, a crew that fails before its
tasks, a flow recorded without its graph. Spans of the real runs are also kept in memory
(`browse.spans`), an independent count of what the API reports.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crewscope.demo.crew import build_crew, make_llm
from crewscope.exporter import DuckDBSpanExporter
from crewscope.instrumentation import CrewAIInstrumentor
from tests.helpers.projects import research_crew
from tests.helpers.projects.review_flow.main import EDGES, EXECUTIONS, review_flow
from tests.helpers.seed import AGENTS, Seeded
from tests.helpers.served import API

ODD_CREW = "100% o'brien_crew"
GATE_CREW = "gate crew"
GATE_ERROR = "quota at 100% for o'brien_x"
SORTS = ("start_time", "duration_ms", "total_tokens", "cost_usd", "name", "status")


@dataclass
class Browse:
    client: TestClient
    spans: list[ReadableSpan]
    start: datetime
    end: datetime

    def get(self, path: str, **params: Any) -> Any:
        reply = self.client.get(API + path, params=params)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def runs(self, **params: Any) -> dict[str, Any]:
        window = {"start_date_from": self.start.isoformat(), "start_date_to": self.end.isoformat()}
        return self.get("/runs", limit=100, **window, **params)  # type: ignore[no-any-return]

    def run_id(self, name: str) -> str:
        [run] = [r for r in self.runs()["runs"] if r["name"] == name]
        return run["run_id"]  # type: ignore[no-any-return]


def _gate(inputs: Any) -> Any:
    raise ValueError(GATE_ERROR)


def _tiny_flow_without_graph() -> Any:
    """A one-method flow whose definition crewscope cannot read (an emit that is no list):
    recorded without crewscope.flow.graph."""
    from crewai.flow import Flow, start

    class TinyFlow(Flow):  # type: ignore[type-arg]
        @start()
        def only(self) -> int:
            return 1

    flow = TinyFlow()
    definition = flow._definition.model_copy(deep=True)
    object.__setattr__(definition.methods["only"], "emit", 5)
    flow._definition = definition
    return flow


def _deep_flow(llm: Any) -> Any:
    """DeepFlow: its method kicks off the ``outer crew``, whose agent's tool kicks off the
    ``inner crew``: a crew run nested in a crew run nested in the flow run."""
    from crewai import Agent, Crew, Task
    from crewai.flow import Flow, start
    from crewai.tools import BaseTool

    def crew(name: str, role: str, tools: list[Any]) -> Any:
        agent = Agent(role=role, goal="Answer", backstory="Brief.", llm=llm, tools=tools)
        task = Task(description="Answer {q}", expected_output="One line.", agent=agent)
        return Crew(name=name, agents=[agent], tasks=[task], verbose=False)

    class AskInnerCrew(BaseTool):
        name: str = "ask_inner_crew"
        description: str = "Asks the inner crew a question and returns its answer."

        def _run(self, text: str) -> str:
            return str(crew("inner crew", "Inner Analyst", []).kickoff(inputs={"q": text}).raw)

    class DeepFlow(Flow):  # type: ignore[type-arg]
        @start()
        def ask(self) -> str:
            return str(crew("outer crew", "Outer Lead", [AskInnerCrew()]).kickoff({"q": "x"}).raw)

    return DeepFlow()


@pytest.fixture(scope="module")
def browse(
    fake_llm: Any,
    tmp_path_factory: pytest.TempPathFactory,
    make_client: Callable[[str], TestClient],
) -> Iterator[Browse]:
    db = str(tmp_path_factory.mktemp("browse") / "browse.duckdb")
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "browse-app"}))
    provider.add_span_processor(SimpleSpanProcessor(DuckDBSpanExporter(db)))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    start = datetime.now(timezone.utc)
    try:
        fake_llm.reset()
        review_flow(fake_llm.base_url)
        llm = make_llm(fake_llm.base_url, max_retries=0)
        build_crew(llm, name=ODD_CREW).kickoff(inputs={"topic": "quotes"})
        with pytest.raises(ValueError, match="quota"):
            build_crew(llm, name=GATE_CREW, before_kickoff_callbacks=[_gate]).kickoff(
                inputs={"topic": "gates"}
            )
        research_crew(fake_llm.base_url)
        _tiny_flow_without_graph().kickoff()
        _deep_flow(llm).kickoff()
    finally:
        end = datetime.now(timezone.utc)
        instrumentor.uninstrument()
        provider.shutdown()  # releases the file for the server
    yield Browse(make_client(db), list(memory.get_finished_spans()), start, end)


# -- agent ------------------------------------------------------------------------------


def _seeded_run_ids(seeded: Seeded, keep: Callable[[str, list[Any]], bool]) -> set[str]:
    return {
        run.rows[0]["SpanId"]
        for run, (crew, _, specs) in zip(seeded.runs, seeded.run_specs, strict=True)
        if keep(crew, specs)
    }


@pytest.mark.parametrize("agent", AGENTS)
def test_agent_filter_lists_the_runs_it_ran_a_task_in(
    client: TestClient, seeded: Seeded, agent: str
) -> None:
    expected = _seeded_run_ids(seeded, lambda _, specs: any(s.agent == agent for s in specs))
    body = client.get(f"{API}/runs", params={"agent": agent, "limit": 100}).json()
    assert body["total"] == len(expected) > 0
    assert {r["run_id"] for r in body["runs"]} == expected
    assert len(expected) < len(seeded.runs) or agent != "Analyst"


def test_agent_filter_with_other_filters_and_paging(client: TestClient, seeded: Seeded) -> None:
    # the Analyst works in every other run, all of them trading_crew's
    analyst = _seeded_run_ids(seeded, lambda _, specs: any(s.agent == "Analyst" for s in specs))
    on_trading = client.get(f"{API}/runs?agent=Analyst&crew=trading_crew&limit=3").json()
    assert on_trading["total"] == len(analyst) and len(on_trading["runs"]) == 3
    assert client.get(f"{API}/runs?agent=Analyst&crew=research_crew").json()["total"] == 0
    failed = _seeded_run_ids(
        seeded,
        lambda _, specs: any(s.agent == "Writer" for s in specs) and any(s.failed for s in specs),
    )
    body = client.get(f"{API}/runs?agent=Writer&status=failed&limit=100").json()
    assert body["total"] == len(failed) > 0
    assert client.get(f"{API}/runs?agent=Nobody").json()["total"] == 0


def test_agent_filter_counts_tasks_of_nested_crew_runs(browse: Browse) -> None:
    flow = browse.run_id("ReviewFlow")
    top = browse.runs(agent="Editor")
    assert [r["run_id"] for r in top["runs"]] == [flow] and top["total"] == 1
    every = browse.runs(agent="Editor", include_nested="true")
    crews = [r for r in every["runs"] if r["kind"] == "crew"]
    assert every["total"] == 3 and len(crews) == 2
    assert {r["parent_run_id"] for r in crews} == {flow} and {r["name"] for r in crews} == {
        "editor crew"
    }
    assert browse.runs(agent="Editor", parent_run_id=flow)["total"] == 2
    # the gate crew has the same agents but failed before any task ran
    assert [r["name"] for r in browse.runs(agent="Researcher")["runs"]] == [ODD_CREW]
    research = browse.runs(agent="Senior Data Researcher")["runs"]
    assert [r["name"] for r in research] == ["research crew"]


def test_agent_filter_counts_tasks_of_runs_nested_two_deep(browse: Browse) -> None:
    deep = browse.run_id("DeepFlow")
    assert [r["run_id"] for r in browse.runs(agent="Inner Analyst")["runs"]] == [deep]
    every = browse.runs(agent="Inner Analyst", include_nested="true")
    names = {r["name"]: r for r in every["runs"]}
    assert every["total"] == 3 and set(names) == {"DeepFlow", "outer crew", "inner crew"}
    outer, inner = names["outer crew"], names["inner crew"]
    assert outer["parent_run_id"] == deep and inner["parent_run_id"] == outer["run_id"]
    assert inner["root_run_id"] == deep
    assert browse.runs(agent="Inner Analyst", parent_run_id=deep)["total"] == 1  # outer crew
    lead = browse.runs(agent="Outer Lead", include_nested="true")["runs"]
    assert {r["name"] for r in lead} == {"DeepFlow", "outer crew"}


# -- q ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "crews"),
    [
        ("ng_cr", {"trading_crew"}),  # _ is itself, not "any character"
        ("G_CR", {"trading_crew"}),  # case-insensitive
        ("ng%cr", set()),  # % is itself, not "anything"
        ("_crew", {"trading_crew", "research_crew"}),
        ("h_c", {"research_crew"}),
        ("'", set()),
    ],
)
def test_q_is_a_literal_substring(
    client: TestClient, seeded: Seeded, q: str, crews: set[str]
) -> None:
    body = client.get(f"{API}/runs", params={"q": q, "limit": 100}).json()
    assert body["total"] == sum(1 for c, _, _ in seeded.run_specs if c in crews)
    assert {r["crew"] for r in body["runs"]} == crews


def test_q_matches_error_messages_and_run_ids(client: TestClient, seeded: Seeded) -> None:
    def first_error(specs: list[Any]) -> str | None:
        return next((s.error for s in specs if s.failed), None)

    timed_out = _seeded_run_ids(seeded, lambda _, s: "timed out" in (first_error(s) or ""))
    body = client.get(f"{API}/runs", params={"q": "Provider TIMED", "limit": 100}).json()
    assert body["total"] == len(timed_out) > 0
    assert {r["run_id"] for r in body["runs"]} == timed_out
    run_id = seeded.runs[3].rows[0]["SpanId"]
    [run] = client.get(f"{API}/runs", params={"q": run_id[-9:].upper()}).json()["runs"]
    assert run["run_id"] == run_id
    assert client.get(f"{API}/runs", params={"q": ""}).json()["total"] == len(seeded.runs)


def test_q_with_quotes_and_wildcards_on_real_runs(browse: Browse) -> None:
    def names(q: str, **params: Any) -> list[str]:
        body = browse.runs(q=q, **params)
        assert body["total"] == len(body["runs"])
        return sorted(r["name"] for r in body["runs"])

    assert names("100%") == sorted([ODD_CREW, GATE_CREW])  # name, error message
    assert names("%") == sorted([ODD_CREW, GATE_CREW])
    assert names("O'BRIEN") == sorted([ODD_CREW, GATE_CREW])
    assert names("n_c") == [ODD_CREW]
    assert names("o'brien_x") == [GATE_CREW]
    assert names("100%", status="completed") == [ODD_CREW]
    assert names("editor crew") == []  # nested runs only with include_nested
    assert names("editor crew", include_nested="true") == ["editor crew", "editor crew"]
    assert names("'; DROP TABLE crewscope_runs; --") == []
    assert browse.runs()["total"] == 6


# -- sort / order -----------------------------------------------------------------------


def _key(run: dict[str, Any], sort: str) -> Any:
    if sort == "start_time":
        return datetime.fromisoformat(run["start_time"].replace("Z", "+00:00"))
    if sort == "name":
        return None if run["name"] is None else run["name"].lower()
    return run[sort]


def _expected_order(runs: list[dict[str, Any]], sort: str, order: str) -> list[str]:
    """NULLs last either way; ties by run id, ascending (Python's sort is stable)."""
    by_id = sorted(runs, key=lambda r: r["run_id"])
    known = [r for r in by_id if _key(r, sort) is not None]
    unknown = [r for r in by_id if _key(r, sort) is None]
    known.sort(key=lambda r: _key(r, sort), reverse=order == "desc")
    return [r["run_id"] for r in known + unknown]


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", SORTS)
def test_sort_and_order(client: TestClient, seeded: Seeded, sort: str, order: str) -> None:
    body = client.get(f"{API}/runs", params={"sort": sort, "order": order, "limit": 100}).json()
    runs = body["runs"]
    assert body["total"] == len(runs) == len(seeded.runs)
    assert [r["run_id"] for r in runs] == _expected_order(runs, sort, order)
    # pages of 7 cut the same order
    paged = [
        r["run_id"]
        for offset in range(0, len(runs), 7)
        for r in client.get(
            f"{API}/runs", params={"sort": sort, "order": order, "limit": 7, "offset": offset}
        ).json()["runs"]
    ]
    assert paged == [r["run_id"] for r in runs]


def test_sort_puts_unknown_values_last(client: TestClient, seeded: Seeded) -> None:
    unpriced = _seeded_run_ids(seeded, lambda _, specs: any(s.cost is None for s in specs))
    assert 0 < len(unpriced) < len(seeded.runs)
    for order in ("asc", "desc"):
        runs = client.get(f"{API}/runs?sort=cost_usd&order={order}&limit=100").json()["runs"]
        tail = runs[-len(unpriced) :]
        assert {r["run_id"] for r in tail} == unpriced and all(r["cost_usd"] is None for r in tail)
    costs = [r["cost_usd"] for r in runs[: -len(unpriced)]]
    assert costs == sorted(costs, reverse=True) and costs[0] > costs[-1]


def test_sort_status_and_filters_keep_total(client: TestClient, seeded: Seeded) -> None:
    failed = sum(1 for _, _, specs in seeded.run_specs if any(s.failed for s in specs))
    runs = client.get(f"{API}/runs?sort=status&order=desc&limit=100").json()["runs"]
    assert [r["status"] for r in runs] == ["failed"] * failed + ["completed"] * (len(runs) - failed)
    default = client.get(f"{API}/runs?limit=100").json()
    explicit = client.get(f"{API}/runs?sort=start_time&order=desc&limit=100").json()
    assert default == explicit
    crew = client.get(f"{API}/runs?crew=trading_crew&sort=duration_ms&order=asc&limit=5").json()
    assert crew["total"] == sum(1 for c, _, _ in seeded.run_specs if c == "trading_crew")
    durations = [r["duration_ms"] for r in crew["runs"]]
    assert durations == sorted(durations)
    everything = client.get(f"{API}/runs?crew=trading_crew&limit=100").json()["runs"]
    assert durations == sorted(r["duration_ms"] for r in everything)[:5]


def test_sort_real_runs_by_tokens(browse: Browse) -> None:
    runs = browse.runs(sort="total_tokens", order="asc", include_nested="true")["runs"]
    assert [r["run_id"] for r in runs] == _expected_order(runs, "total_tokens", "asc")
    by_name = {r["name"]: r for r in runs}
    assert by_name["TinyFlow"]["total_tokens"] == 0  # a run without LLM calls has 0, not null
    assert runs[-1]["total_tokens"] == max(r["total_tokens"] for r in runs)


@pytest.mark.parametrize(
    "params",
    [{"sort": "tokens"}, {"order": "up"}, {"sort": ""}, {"q": "x" * 201}],
)
def test_bad_browse_parameters_are_422(client: TestClient, params: dict[str, str]) -> None:
    r = client.get(f"{API}/runs", params=params)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["query", next(iter(params))]


# -- runs series ------------------------------------------------------------------------


def _bucket(start_time: str, width: timedelta) -> datetime:
    t = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
    epoch = datetime(2000, 1, 3, tzinfo=timezone.utc)  # DuckDB's time_bucket origin
    return epoch + width * math.floor((t - epoch) / width)


def _check_series_against_runs(points: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
    """Every bucket's figures equal those computed from the runs GET /runs lists."""
    width = timedelta(days=1)
    groups: dict[datetime, list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault(_bucket(run["start_time"], width), []).append(run)
    by_bucket = {datetime.fromisoformat(p["bucket"].replace("Z", "+00:00")): p for p in points}
    assert set(by_bucket) == set(groups)  # empty buckets are left out
    for bucket, members in groups.items():
        p = by_bucket[bucket]
        durations = [r["duration_ms"] for r in members]
        assert p["runs"] == len(members)
        assert p["failed"] == sum(r["status"] == "failed" for r in members)
        assert p["successful"] == p["runs"] - p["failed"]
        assert p["avg_ms"] == pytest.approx(np.mean(durations))
        assert p["p95_ms"] == pytest.approx(np.percentile(durations, 95))
        assert p["input_tokens"] == sum(r["input_tokens"] or 0 for r in members)
        assert p["output_tokens"] == sum(r["output_tokens"] or 0 for r in members)
        costs = [r["cost_usd"] for r in members if r["cost_usd"] is not None]
        assert p["cost_usd"] == (pytest.approx(sum(costs)) if costs else None)


def test_runs_series_equals_the_generated_runs(client: TestClient, seeded: Seeded) -> None:
    start = (seeded.now - timedelta(days=30)).isoformat()
    body = client.get(f"{API}/metrics/runs/series?resolution=1d&start={start}").json()
    assert (body["resolution"], body["kind"], body["name"]) == ("1d", None, None)
    pts = body["points"]
    assert [p["bucket"] for p in pts] == sorted(p["bucket"] for p in pts)
    specs = [specs for _, _, specs in seeded.run_specs]
    assert sum(p["runs"] for p in pts) == len(seeded.runs)
    assert sum(p["failed"] for p in pts) == sum(any(s.failed for s in sp) for sp in specs)
    assert sum(p["input_tokens"] for p in pts) == sum(
        s.input_tokens * s.steps for sp in specs for s in sp
    )
    priced = [sp for sp in specs if all(s.cost is not None for s in sp)]
    assert sum(p["cost_usd"] or 0 for p in pts) == pytest.approx(
        sum(0.0015 * s.steps for sp in priced for s in sp)
    )
    runs = client.get(f"{API}/runs?limit=100").json()["runs"]
    _check_series_against_runs(pts, runs)
    trading = client.get(
        f"{API}/metrics/runs/series",
        params={"resolution": "1d", "start": start, "kind": "crew", "name": "trading_crew"},
    ).json()
    assert trading["kind"] == "crew" and trading["name"] == "trading_crew"
    assert sum(p["runs"] for p in trading["points"]) == sum(
        1 for c, _, _ in seeded.run_specs if c == "trading_crew"
    )
    flows = client.get(f"{API}/metrics/runs/series?start={start}&resolution=1d&kind=flow").json()
    assert flows["points"] == []


def test_runs_series_equals_sums_over_runs(browse: Browse) -> None:
    window = {
        "start": (browse.start - timedelta(seconds=1)).isoformat(),
        "end": (browse.end + timedelta(seconds=1)).isoformat(),
    }
    pts = browse.get("/metrics/runs/series", resolution="1d", **window)["points"]
    runs = browse.runs()["runs"]  # top-level only, as the series counts
    assert sum(p["runs"] for p in pts) == len(runs) == 6
    assert sum(p["failed"] for p in pts) == 1  # the gate crew
    assert sum(p["input_tokens"] for p in pts) > 0
    _check_series_against_runs(pts, runs)
    fine = browse.get("/metrics/runs/series", resolution="10s", **window)["points"]
    assert sum(p["runs"] for p in fine) == len(runs)
    assert sum(p["cost_usd"] or 0 for p in fine) == pytest.approx(
        sum(r["cost_usd"] or 0 for r in runs)
    )
    flows = browse.get("/metrics/runs/series", resolution="1d", kind="flow", **window)["points"]
    assert sum(p["runs"] for p in flows) == 3  # not the flows' crew runs
    review = browse.get("/metrics/runs/series", resolution="1d", name="ReviewFlow", **window)
    [point] = review["points"]
    [run] = [r for r in runs if r["name"] == "ReviewFlow"]
    assert point["runs"] == 1 and point["avg_ms"] == pytest.approx(run["duration_ms"])
    assert point["input_tokens"] == run["input_tokens"] > 0


@pytest.mark.parametrize(
    ("params", "error_type"),
    [
        ({"resolution": "7s"}, "enum"),
        ({"kind": "task"}, "enum"),
        ({"start": "2030-01-02T00:00:00Z", "end": "2030-01-01T00:00:00Z"}, "range_reversed"),
        ({"start": "2020-01-01T00:00:00Z", "resolution": "10s"}, "range_too_large"),
        ({"start": "yesterday"}, "value_error"),
    ],
)
def test_runs_series_bad_parameters_are_422(
    client: TestClient, params: dict[str, str], error_type: str
) -> None:
    r = client.get(f"{API}/metrics/runs/series", params=params)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["type"] == error_type


# -- flow graph -------------------------------------------------------------------------


def test_flow_graph_of_a_router_flow(browse: Browse) -> None:
    detail = browse.get(f"/runs/{browse.run_id('ReviewFlow')}")
    graph = detail["flow_graph"]
    nodes = {n["method"]: n for n in graph["nodes"]}
    assert [n["method"] for n in graph["nodes"]] == list(EXECUTIONS)  # definition order
    assert nodes["gather"] == {
        "method": "gather", "start": True, "router": False, "listen_to": [], "condition": None,
        "emits": [], "executions": 1, "failed": 0, "avg_ms": nodes["gather"]["avg_ms"],
    }  # fmt: skip
    assert nodes["draft"]["listen_to"] == ["gather", "revise"]
    assert nodes["draft"]["condition"] == "or"
    assert nodes["close"]["listen_to"] == ["publish", "archive"]
    assert nodes["close"]["condition"] == "and"
    assert nodes["review"]["router"] and nodes["review"]["emits"] == ["revise", "approved"]
    assert nodes["notify"]["router"] and nodes["notify"]["emits"] == []
    assert nodes["archive"]["listen_to"] == ["done"] and nodes["archive"]["condition"] is None
    edges = [(e["source"], e["target"], e["label"]) for e in graph["edges"]]
    assert len(edges) == len(set(edges)) and set(edges) == EDGES
    # executions: the flow_method spans of this run, counted from the spans themselves
    spans = [s for s in browse.spans if s.name.startswith("flow_method ")]
    flow_id = browse.run_id("ReviewFlow")
    mine = [s for s in spans if s.attributes["crewscope.run.id"] == flow_id]
    counted = Counter(s.attributes["crewai.flow.method"] for s in mine)
    assert counted == Counter(EXECUTIONS)
    for method, node in nodes.items():
        assert node["executions"] == counted[method] and node["failed"] == 0
        durations = [
            (s.end_time - s.start_time) / 1e6
            for s in mine
            if s.attributes["crewai.flow.method"] == method
        ]
        assert node["avg_ms"] == pytest.approx(np.mean(durations), rel=1e-6)
    assert nodes["draft"]["avg_ms"] > nodes["review"]["avg_ms"]  # a crew run vs a return


def test_no_flow_graph_for_crews_nested_runs_and_flows_recorded_without(browse: Browse) -> None:
    for name in (ODD_CREW, GATE_CREW, "research crew", "TinyFlow"):
        detail = browse.get(f"/runs/{browse.run_id(name)}")
        assert detail["flow_graph"] is None, name
    tiny = browse.get(f"/runs/{browse.run_id('TinyFlow')}")
    assert tiny["kind"] == "flow" and tiny["spans"][0]["children"]  # its method ran
    [nested, _] = browse.get(f"/runs/{browse.run_id('ReviewFlow')}")["nested_runs"]
    assert browse.get(f"/runs/{nested['run_id']}")["flow_graph"] is None


# -- the contract the web UI's client is written against -----------------------------


def test_openapi_documents_the_additions(client: TestClient) -> None:
    doc = client.app.openapi()  # type: ignore[attr-defined]
    schemas = doc["components"]["schemas"]

    def params(path: str) -> dict[str, Any]:
        return {p["name"]: p for p in doc["paths"][API + path]["get"]["parameters"]}

    runs = params("/runs")
    assert schemas["RunSort"]["enum"] == list(SORTS)
    assert schemas["SortOrder"]["enum"] == ["asc", "desc"]
    assert runs["sort"]["schema"]["default"] == "start_time"
    assert runs["order"]["schema"]["default"] == "desc"
    assert runs["q"]["schema"]["anyOf"][0]["maxLength"] == 200
    assert "agent" in runs and all(runs[p]["description"] for p in ("agent", "q", "sort"))
    series = params("/metrics/runs/series")
    assert set(series) == {"resolution", "start", "end", "kind", "name"}
    assert set(schemas["RunPoint"]["properties"]) == {
        "bucket", "runs", "successful", "failed", "avg_ms", "p95_ms", "input_tokens",
        "output_tokens", "cost_usd",
    }  # fmt: skip
    assert {"p50_ms", "p95_ms", "p99_ms"} <= set(schemas["ExecutionPoint"]["properties"])
    assert {"crew", "service"} <= set(schemas["AgentSummary"]["properties"])
    assert "flow_graph" in schemas["RunDetail"]["properties"]
    assert set(schemas["FlowNode"]["properties"]) == {
        "method", "start", "router", "listen_to", "condition", "emits", "executions",
        "failed", "avg_ms",
    }  # fmt: skip
    assert set(schemas["FlowEdge"]["properties"]) == {"source", "target", "label"}
