"""WS /api/v1/monitoring/live on ClickHouse: real `crewscope serve --store chdb:///DIR` and
`crewscope serve --db FILE` subprocesses fed the same real crew run over OTLP/HTTP (one
instrumented crew against the fake LLM, its spans sent to both by the official exporter);
the ClickHouse feed gives the DuckDB feed's messages, each once and in the same order,
though it re-reads a lag window behind its arrival-time cursor; log records, concurrent
senders and process samples too."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.util.types import AttributeValue
from websockets.sync.client import ClientConnection, connect

from crewscope.demo.crew import build_crew, make_llm
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.instrumentation._process_metrics import ProcessMetrics
from tests.exporter.receiver.log_records import Rec, records
from tests.helpers.env import subprocess_env
from tests.reliability.serve_proc import API, ServeProcess, free_port

LAG_S = 2.0  # the ClickHouse cursor's lag window (live.cursors.DEFAULT_LAG_S)


def _serve(store_args: list[str], log_path: Path) -> ServeProcess:
    port = free_port()
    args = [
        "serve", *store_args, "--port", str(port), "--grpc", "", "--log-level", "warning",
        "--retention-days", "0", "--rollup-interval", "0",
    ]  # fmt: skip
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("crewscope")), *args], stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=subprocess_env(),
        )  # fmt: skip
    served = ServeProcess(proc, port, None, Path(store_args[-1]), log_path)
    served.wait_up(120)
    return served


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServeProcess]]:
    tmp = tmp_path_factory.mktemp("live_ch")
    started: dict[str, ServeProcess] = {}
    try:
        started["clickhouse"] = _serve(["--store", f"chdb://{tmp / 'chdb'}"], tmp / "ch.log")
        started["duckdb"] = _serve(["--db", str(tmp / "live.duckdb")], tmp / "duck.log")
        yield started
    finally:
        for served in started.values():
            served.stop()


def _ws(served: ServeProcess, query: str = "") -> ClientConnection:
    ws = connect(
        f"ws://127.0.0.1:{served.port}{API}/live" + (f"?{query}" if query else ""),
        open_timeout=10,
    )
    hello = json.loads(ws.recv(timeout=10))
    assert hello["type"] == "subscribed", hello
    return ws


def _read_until(
    ws: ClientConnection, stop: Callable[[dict[str, Any]], bool], timeout: float = 60.0
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; got {[m.get('event', m['type']) for m in out]}"
        msg = json.loads(ws.recv(timeout=left))
        out.append(msg)
        if stop(msg):
            return out


def _rest(ws: ClientConnection, wait_s: float) -> list[dict[str, Any]]:
    """What else the client gets within `wait_s` (then a ping, answered after the rest)."""
    time.sleep(wait_s)
    ws.send(json.dumps({"action": "ping"}))
    return [m for m in _read_until(ws, lambda m: m["type"] == "pong") if m["type"] != "pong"]


def _shape(m: dict[str, Any]) -> tuple[Any, ...]:
    """A message without what differs between two stores of the same spans (cost is
    priced at ingest on DuckDB, at read on ClickHouse; compared apart)."""
    data = {k: v for k, v in m.get("data", {}).items() if k != "cost_usd"}
    return (m["type"], m["event"], m.get("name"), m["service"], m["crew"], m["agent"],
            m["task"], m["run_id"], m.get("crew_run_id"), m["trace_id"], m["span_id"],
            m.get("parent_span_id"), m["timestamp"], json.dumps(data, sort_keys=True))  # fmt: skip


def test_clickhouse_feed_gives_the_duckdb_feed_of_a_real_run(
    servers: dict[str, ServeProcess], fake_llm: Any
) -> None:
    ch, duck = servers["clickhouse"], servers["duckdb"]
    clients = {name: _ws(s) for name, s in servers.items()}
    writer = _ws(ch, "agent=Writer&events=llm_call,task_completed")
    provider = TracerProvider(resource=Resource.create({"service.name": "live-ch"}))
    for served in (ch, duck):
        provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(f"{served.url}/v1/traces"))
        )
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        fake_llm.reset()
        build_crew(make_llm(fake_llm.base_url, max_retries=0), name="live_ch_crew").kickoff(
            inputs={"topic": "live"}
        )
        calls = list(fake_llm.calls)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    rec_attrs = {"gen_ai.agent.name": "Writer", "crewai.crew.name": "live_ch_crew",
                 "crewai.task.name": "write"}  # fmt: skip
    finished = records(
        [Rec("rate limited, retrying", "warn", attributes=rec_attrs), Rec("all done", "info")]
    )  # the same records (and times) to both
    for served in (ch, duck):
        exporter = OTLPLogExporter(endpoint=f"{served.url}/v1/logs")
        assert exporter.export(finished) is LogRecordExportResult.SUCCESS
        exporter.shutdown()

    def last_log(m: dict[str, Any]) -> bool:
        return m.get("body") == "all done"

    got = {name: _read_until(ws, last_log) for name, ws in clients.items()}
    # nothing more comes, though the ClickHouse cursor re-read its lag window many times
    for name, ws in clients.items():
        got[name] += _rest(ws, LAG_S + 1.5)
    msgs = {name: [m for m in got[name] if m["type"] in ("event", "log")] for name in got}
    ch_msgs, duck_msgs = msgs["clickhouse"], msgs["duckdb"]

    events = [m for m in ch_msgs if m["type"] == "event"]
    spans = [m["span_id"] for m in events]
    assert len(spans) == len(set(spans)), "an event was published twice"
    kinds = [(m["event"], m["agent"]) for m in events]
    assert {"llm_call", "tool_call", "agent_step", "task_completed", "run_completed"} <= {
        k for k, _ in kinds
    }, kinds
    # the same messages as DuckDB's feed, in the same order
    assert [_shape(m) for m in ch_msgs] == [_shape(m) for m in duck_msgs]
    for a, b in zip(ch_msgs, duck_msgs, strict=True):
        if a["event"] == "llm_call":
            assert a["data"]["cost_usd"] == pytest.approx(b["data"]["cost_usd"], rel=1e-6)
    # in order: a task's LLM calls and tool call before the task, tasks before the run
    r_task = kinds.index(("task_completed", "Researcher"))
    w_task = kinds.index(("task_completed", "Writer"))
    llm_r = [i for i, k in enumerate(kinds) if k == ("llm_call", "Researcher")]
    llm_w = [i for i, k in enumerate(kinds) if k == ("llm_call", "Writer")]
    assert max(llm_r) < r_task < min(llm_w) and max(llm_w) < w_task
    assert kinds.index(("tool_call", "Researcher")) < r_task
    assert kinds[-1] == ("run_completed", None) and w_task < len(kinds) - 1
    llm = [m for m in events if m["event"] == "llm_call"]
    assert len(llm) == len(calls)
    assert sum(m["data"]["input_tokens"] for m in llm) == sum(c.prompt_tokens for c in calls)
    assert sum(m["data"]["output_tokens"] for m in llm) == sum(c.completion_tokens for c in calls)
    assert all(m["data"]["cost_usd"] > 0 and m["crew"] == "live_ch_crew" for m in llm)
    run = events[-1]
    assert run["data"]["status"] == "ok" and len({m["run_id"] for m in events}) == 1
    assert run["data"]["input_tokens"] == sum(c.prompt_tokens for c in calls)
    logs = [m for m in ch_msgs if m["type"] == "log"]
    assert [(m["body"], m["severity"], m["agent"], m["task"]) for m in logs] == [
        ("rate limited, retrying", "warn", "Writer", "write"), ("all done", "info", None, None),
    ]  # fmt: skip
    # a filtered client on ClickHouse: the Writer's LLM calls and task, once each
    w = _read_until(writer, lambda m: m.get("event") == "task_completed")
    w += _rest(writer, 0.5)
    assert [m["event"] for m in w] == ["llm_call"] * len(llm_w) + ["task_completed"]
    assert {m["agent"] for m in w} == {"Writer"}
    for ws in (*clients.values(), writer):
        ws.close()


def _send_chats(served: ServeProcess, agent: str, n: int) -> None:
    """`n` LLM-call spans of `agent` (input tokens 0..n-1, in order) over OTLP/HTTP."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"bulk-{agent}"}))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(f"{served.url}/v1/traces"), max_queue_size=max(n, 100) + 1,
            max_export_batch_size=100, schedule_delay_millis=20,
        )
    )  # fmt: skip
    tracer = provider.get_tracer("bulk")
    for i in range(n):
        attrs: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.agent.name": agent, "gen_ai.usage.input_tokens": i,
            "gen_ai.usage.output_tokens": 1,
        }  # fmt: skip
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes=attrs):
            pass
    assert provider.force_flush(60_000)
    provider.shutdown()


def test_first_client_after_none_gets_what_lands_from_then_on(
    servers: dict[str, ServeProcess],
) -> None:
    """With no client the feed reads nothing; the first client to subscribe after that does
    not get what landed before it (though that is inside the lag window the cursor re-reads)
    and does get what lands right after it subscribed, before any poll could have run."""
    ch = servers["clickhouse"]
    time.sleep(1.0)  # other tests' clients are gone: the feed is idle
    _send_chats(ch, "before", 20)
    ws = _ws(ch, "events=llm_call")
    _send_chats(ch, "after", 20)

    def last(m: dict[str, Any]) -> bool:
        return m.get("agent") == "after" and m["data"]["input_tokens"] == 19

    got = _read_until(ws, last, timeout=30)
    got += _rest(ws, LAG_S + 1.5)
    events = [(m["agent"], m["data"]["input_tokens"]) for m in got if m["type"] == "event"]
    assert events == [("after", i) for i in range(20)]
    ws.close()


def test_concurrent_senders_each_span_once_in_order(servers: dict[str, ServeProcess]) -> None:
    """Two OTLP senders at once (concurrent inserts): every span once, each sender's in order."""
    ch = servers["clickhouse"]
    ws = _ws(ch, "events=llm_call")
    n = 1500
    senders = [threading.Thread(target=_send_chats, args=(ch, a, n)) for a in ("A", "B")]
    for t in senders:
        t.start()
    for t in senders:
        t.join(120)
    seen: dict[str, list[int]] = {"A": [], "B": []}

    def both_done(m: dict[str, Any]) -> bool:
        if m["type"] == "event":
            seen[m["agent"]].append(m["data"]["input_tokens"])
        return all(v and v[-1] == n - 1 for v in seen.values())

    got = _read_until(ws, both_done, timeout=90)
    got += _rest(ws, LAG_S + 1.5)
    assert not [m for m in got if m["type"] == "dropped"]
    events = [m for m in got if m["type"] == "event"]
    assert len(events) == 2 * n and len({m["span_id"] for m in events}) == 2 * n
    for agent in ("A", "B"):
        assert [m["data"]["input_tokens"] for m in events if m["agent"] == agent] == list(range(n))
    ws.close()


def test_process_samples_on_clickhouse(
    servers: dict[str, ServeProcess], burner: Callable[..., subprocess.Popen[str]]
) -> None:
    """A real child's stats sent every 100 ms: about one message a second, with its
    numbers (several points of one whole second count once, not summed)."""
    ch = servers["clickhouse"]
    child = burner(mb=32, seconds=60)
    ws = _ws(ch, f"events=process&pid={child.pid}")
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(f"{ch.url}/v1/metrics"), export_interval_millis=100
    )
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "orchestrator"})
    )
    stats = ProcessMetrics(provider.get_meter("t"), include_self=False)
    stats.watch(child.pid, {"crewai.crew.name": "busy_crew", "gen_ai.agent.name": "Burner"})
    try:
        got = _read_until(ws, lambda m: m["type"] == "process", timeout=30)[-1:]
        started = time.monotonic()
        while time.monotonic() - started < 4.0:
            got.append(json.loads(ws.recv(timeout=10)))
        elapsed = time.monotonic() - started
        times = psutil.Process(child.pid).cpu_times()
    finally:
        stats.stop()
        provider.shutdown()
        ws.close()
    assert all(m["type"] == "process" and m["pid"] == child.pid for m in got)
    assert 2 <= len(got) <= elapsed + 2
    m = got[-1]
    assert m["service"] == "orchestrator" and m["crew"] == "busy_crew" and m["agent"] == "Burner"
    assert m["data"]["memory_mb"] > 32 and m["data"]["threads"] >= 1
    cpu = m["data"]["cpu_time_s"]
    assert 0 < cpu <= times.user + times.system + 0.5, (cpu, times)
