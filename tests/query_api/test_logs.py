"""Logs endpoints over a real server: a real instrumented crew run's spans and log records
with those spans' ids, both sent with the official OTLP exporters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crewscope.instrumentation import CrewAIInstrumentor
from tests.exporter.receiver.log_records import Rec, send_http
from tests.helpers.projects import research_crew
from tests.helpers.served import API, Served, served_factory

OTHER_TRACE = "f" * 32


@dataclass
class World:
    served: Served
    run_id: str
    trace_id: str
    tasks: list[dict[str, Any]]  # oldest first
    spans: list[ReadableSpan]

    def get(self, path: str, status: int = 200, **params: Any) -> Any:
        reply = httpx.get(f"{self.served.url}{API}{path}", params=params, timeout=30)
        assert reply.status_code == status, reply.text
        return reply.json()


def _hex(value: int, digits: int) -> str:
    return format(value, f"0{digits}x")


def _span(spans: list[ReadableSpan], op: str, agent: str) -> ReadableSpan:
    return next(
        s
        for s in spans
        if s.attributes
        and s.attributes.get("gen_ai.operation.name") == op
        and s.attributes.get("gen_ai.agent.name") == agent
    )


def _rec(body: str, level: str, span: ReadableSpan, attrs: dict[str, Any] | None = None) -> Rec:
    ctx = span.context
    assert ctx is not None and span.start_time is not None
    return Rec(
        body, level, _hex(ctx.trace_id, 32), _hex(ctx.span_id, 16), attrs or {},
        timestamp_ns=span.start_time + 1000,
    )  # fmt: skip


@pytest.fixture(scope="module")
def world(fake_llm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    factory = served_factory(tmp_path_factory.mktemp("logs"))
    served = next(factory)(self_telemetry=False)
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "crew-app"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{served.url}/v1/traces"))
    )
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    fake_llm.reset()
    try:
        research_crew(fake_llm.base_url)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    spans = list(memory.get_finished_spans())
    reply = httpx.get(f"{served.url}{API}/runs").json()
    [run] = reply["runs"]
    tasks = httpx.get(f"{served.url}{API}/tasks", params={"run_id": run["run_id"]}).json()
    w = World(served, run["run_id"], run["trace_id"], tasks["tasks"][::-1], spans)
    first, second = w.tasks
    in_run = {
        "crewai.crew.name": run["crew"], "crewscope.run.id": w.run_id,
        "crewscope.run.root_id": w.run_id,
    }  # fmt: skip
    tool = _span(spans, "execute_tool", first["agent"])
    chat = _span(spans, "chat", second["agent"])
    task1 = next(s for s in spans if s.context and _hex(s.context.span_id, 16) == first["task_id"])
    run_span = next(s for s in spans if s.context and _hex(s.context.span_id, 16) == w.run_id)
    outside = _rec("before the run", "info", run_span)
    outside.timestamp_ns = (run_span.start_time or 0) - 10**12
    recs = [
        _rec("starting research", "info", task1, {**in_run, "gen_ai.agent.name": first["agent"]}),
        _rec("tool blew up: 100%", "error", tool, {**in_run, "gen_ai.agent.name": first["agent"]}),
        _rec("slow LLM reply", "warn", chat, {**in_run, "gen_ai.agent.name": second["agent"]}),
        _rec("framework debug", "debug", run_span),  # names no run: in the run's window
        outside,  # names no run, same trace, outside the window: not the run's
    ]
    assert send_http(served.url, recs, timeout=30) is LogRecordExportResult.SUCCESS
    unrelated = Rec("unrelated", "fatal", OTHER_TRACE, "1" * 16, {"gen_ai.agent.name": "Nobody"})
    assert send_http(served.url, [unrelated], service="other-svc") is LogRecordExportResult.SUCCESS
    yield w
    next(factory, None)


def _bodies(reply: dict[str, Any]) -> list[str]:
    return [r["body"] for r in reply["logs"]]


def test_run_logs_in_time_order_with_filters_and_paging(world: World) -> None:
    reply = world.get(f"/runs/{world.run_id}/logs")
    assert _bodies(reply) == [
        "framework debug", "starting research", "tool blew up: 100%", "slow LLM reply",
    ]  # fmt: skip
    assert reply["total"] == 4 and reply["limit"] == 20 and reply["offset"] == 0
    record = reply["logs"][2]
    assert record["severity"] == "error" and record["severity_number"] == 17
    assert record["run_id"] == world.run_id and record["trace_id"] == world.trace_id
    assert record["agent"] == world.tasks[0]["agent"] and record["service"] == "log-app"
    assert reply["logs"][0]["run_id"] is None  # found by trace and time window
    assert _bodies(world.get(f"/runs/{world.run_id}/logs", severity="warn")) == [
        "tool blew up: 100%", "slow LLM reply",
    ]  # fmt: skip
    assert _bodies(world.get(f"/runs/{world.run_id}/logs", q="BLEW UP")) == ["tool blew up: 100%"]
    assert _bodies(world.get(f"/runs/{world.run_id}/logs", q="100%")) == ["tool blew up: 100%"]
    assert world.get(f"/runs/{world.run_id}/logs", q="1_0")["total"] == 0  # _ is literal
    page = world.get(f"/runs/{world.run_id}/logs", limit=2, offset=1)
    assert _bodies(page) == ["starting research", "tool blew up: 100%"] and page["total"] == 4
    # the trace id stands for its first top-level run, as in GET /runs/{id}
    assert world.get(f"/runs/{world.trace_id}/logs")["total"] == 4


def test_task_logs_are_its_subtree(world: World) -> None:
    first, second = world.tasks
    assert _bodies(world.get(f"/tasks/{first['task_id']}/logs")) == [
        "starting research", "tool blew up: 100%",
    ]  # fmt: skip
    assert _bodies(world.get(f"/tasks/{second['task_id']}/logs")) == ["slow LLM reply"]
    assert world.get(f"/tasks/{first['task_id']}/logs", severity="error")["total"] == 1
    assert world.get(f"/tasks/{first['task_id']}/logs", q="nothing like it")["logs"] == []


def test_logs_across_runs(world: World) -> None:
    everything = world.get("/logs")
    assert everything["total"] == 6
    assert everything["logs"][0]["body"] == "unrelated"  # newest first
    times = [r["time"] for r in everything["logs"]]
    assert times == sorted(times, reverse=True)
    assert _bodies(world.get("/logs", service="other-svc")) == ["unrelated"]
    assert _bodies(world.get("/logs", severity="fatal")) == ["unrelated"]
    crew = world.get("/logs", crew=world.tasks[0]["crew"])
    assert crew["total"] == 3
    agent = world.get("/logs", agent=world.tasks[0]["agent"])
    assert _bodies(agent) == ["tool blew up: 100%", "starting research"]
    run_time = world.get(f"/runs/{world.run_id}")["start_time"]
    assert "before the run" not in _bodies(world.get("/logs", start=run_time))
    assert _bodies(world.get("/logs", end=run_time)) == ["before the run"]
    assert _bodies(world.get("/logs", q="debug", limit=1)) == ["framework debug"]
    paged = world.get("/logs", limit=2, offset=4)
    assert len(paged["logs"]) == 2 and paged["total"] == 6


def test_agent_activity_newest_first(world: World) -> None:
    agent = world.tasks[0]["agent"]
    reply = world.get(f"/agents/{agent}/activity", limit=100)
    lines = reply["activity"]
    kinds = {line["kind"] for line in lines}
    assert {"task_started", "task_finished", "step", "tool_call", "llm_call", "log"} <= kinds
    assert [line["time"] for line in lines] == sorted((x["time"] for x in lines), reverse=True)
    logs = [line for line in lines if line["kind"] == "log"]
    assert [(x["text"], x["status"]) for x in logs] == [("ERROR: tool blew up: 100%", "error")]
    assert logs[0]["run_id"] == world.run_id and logs[0]["span_id"]
    llm = next(line for line in lines if line["kind"] == "llm_call")
    assert "tokens" in llm["text"] and llm["status"] == "ok"
    tool = next(line for line in lines if line["kind"] == "tool_call")
    assert tool["text"].startswith("tool ") and tool["run_id"] == world.run_id
    started = next(line for line in lines if line["kind"] == "task_started")
    assert started["span_id"] == world.tasks[0]["task_id"]
    assert world.get(f"/agents/{agent}/activity", limit=3)["activity"] == lines[:3]
    second = world.get(f"/agents/{world.tasks[1]['agent']}/activity")["activity"]
    assert [x["text"] for x in second if x["kind"] == "log"] == ["WARN: slow LLM reply"]


def test_validation_and_unknown_ids(world: World) -> None:
    world.get("/runs/0123456789abcdef/logs", status=404)
    world.get("/tasks/0123456789abcdef/logs", status=404)
    world.get("/agents/Nobody%20at%20all/activity", status=404)
    world.get(f"/runs/{world.run_id}/logs", status=422, severity="loud")
    world.get("/runs/not-a-run/logs", status=422)
    world.get("/tasks/XYZ/logs", status=422)
    world.get(f"/runs/{world.run_id}/logs", status=422, limit=0)
    world.get("/logs", status=422, offset=-1)
    world.get("/logs", status=422, start="2030-01-02T00:00:00Z", end="2030-01-01T00:00:00Z")
    world.get("/logs", status=422, start="yesterday")
    world.get("/agents/x/activity", status=422, limit=0)
