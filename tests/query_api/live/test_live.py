"""WS /api/v1/monitoring/live: real crew runs and real process stats landing over OTLP."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from crewscope.instrumentation._process_metrics import ProcessMetrics
from tests.helpers.served import Served, wait_until


def read_until(ws: ClientConnection, stop: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Messages until `stop(msg)` is true (included)."""
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; got {[m.get('event', m['type']) for m in out]}"
        msg = json.loads(ws.recv(timeout=left))
        out.append(msg)
        if stop(msg):
            return out


def subscribe(served: Served, query: str = "", **kw: Any) -> ClientConnection:
    ws = connect(served.ws_url + (f"?{query}" if query else ""), open_timeout=10, **kw)
    hello = json.loads(ws.recv(timeout=10))
    assert hello["type"] == "subscribed", hello
    return ws


def test_events_of_a_real_run_in_order(served: Served, otlp_crew: Any) -> None:
    everything = subscribe(served)
    writer_only = subscribe(served, "agent=Writer")
    runs_only = subscribe(served)
    runs_only.send(json.dumps({"action": "subscribe", "events": ["run_completed"]}))
    ack = json.loads(runs_only.recv(timeout=10))
    assert ack == {
        "type": "subscribed",
        "filters": {"crew": None, "agent": None, "service": None, "pid": None,
                    "events": ["run_completed"]},
    }  # fmt: skip

    calls = otlp_crew("live_crew")

    def done(m: dict[str, Any]) -> bool:
        return m.get("event") == "run_completed"

    msgs = [m for m in read_until(everything, done) if m["type"] == "event"]
    kinds = [(m["event"], m["agent"]) for m in msgs]
    assert all(m["service"] == "live-crew" and m["crew"] == "live_crew" for m in msgs)
    assert len({m["run_id"] for m in msgs}) == 1
    # order: each task's LLM calls, its tool call, its steps, then the task, then the run
    pos = {k: [i for i, x in enumerate(kinds) if x == k] for k in set(kinds)}
    r_task = pos[("task_completed", "Researcher")]
    w_task = pos[("task_completed", "Writer")]
    assert len(r_task) == len(w_task) == 1
    assert max(pos[("llm_call", "Researcher")]) < r_task[0] < min(pos[("llm_call", "Writer")])
    assert max(pos[("llm_call", "Writer")]) < w_task[0] < kinds.index(("run_completed", None))
    assert pos[("tool_call", "Researcher")][0] < r_task[0]
    assert pos[("agent_step", "Researcher")][-1] < r_task[0]
    assert kinds[-1] == ("run_completed", None)
    # tokens on the LLM events are the fake LLM's usage, exactly
    llm = [m for m in msgs if m["event"] == "llm_call"]
    assert len(llm) == len(calls)
    assert sum(m["data"]["input_tokens"] for m in llm) == sum(c.prompt_tokens for c in calls)
    assert sum(m["data"]["output_tokens"] for m in llm) == sum(c.completion_tokens for c in calls)
    assert all(m["data"]["model"] == "gpt-4o-mini" and m["data"]["cost_usd"] > 0 for m in llm)
    run = msgs[-1]
    assert run["data"]["status"] == "ok"
    assert run["data"]["input_tokens"] == sum(c.prompt_tokens for c in calls)
    tool = msgs[pos[("tool_call", "Researcher")][0]]
    assert tool["data"]["tool"] == "word_counter" and tool["task"] == "research"

    writer_msgs = read_until(writer_only, lambda m: m.get("event") == "task_completed")
    assert {m["agent"] for m in writer_msgs} == {"Writer"}
    assert [m["event"] for m in writer_msgs].count("llm_call") == len(pos[("llm_call", "Writer")])
    assert [m["event"] for m in read_until(runs_only, done)] == ["run_completed"]
    for ws in (everything, writer_only, runs_only):
        ws.close()


def test_bad_filters(served: Served) -> None:
    with pytest.raises(InvalidStatus):  # closed before accept: 403 on the handshake
        connect(served.ws_url + "?events=nonsense", open_timeout=10)
    with pytest.raises(InvalidStatus):
        connect(served.ws_url + "?pid=abc", open_timeout=10)
    with pytest.raises(InvalidStatus):  # one value per parameter, as on the HTTP routes
        connect(served.ws_url + "?pid=1&pid=2", open_timeout=10)
    ws = subscribe(served)
    ws.send(json.dumps({"action": "subscribe", "colour": "red"}))
    assert json.loads(ws.recv(timeout=5)) == {
        "type": "error",
        "message": "unknown filter(s): colour",
    }
    ws.send("not json")
    assert json.loads(ws.recv(timeout=5))["type"] == "error"
    ws.send(json.dumps({"action": "ping"}))
    assert json.loads(ws.recv(timeout=5))["type"] == "pong"
    ws.close()


def test_process_samples_throttled_per_pid(served: Served, burner: Any) -> None:
    """Stats of a real child sent every 100 ms over OTLP metrics: one message a second."""
    child = burner(mb=32, seconds=60)
    ws = subscribe(served, f"events=process&pid={child.pid}")
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(f"{served.url}/v1/metrics"), export_interval_millis=100
    )
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "orchestrator"})
    )
    stats = ProcessMetrics(provider.get_meter("t"), include_self=True)
    stats.watch(child.pid, {"crewai.crew.name": "busy_crew", "gen_ai.agent.name": "Burner"})
    try:
        first = read_until(ws, lambda m: m["type"] == "process", timeout=20)[-1]
        started = time.monotonic()
        got = [first]
        while time.monotonic() - started < 4.0:
            got.append(json.loads(ws.recv(timeout=5)))
        elapsed = time.monotonic() - started
    finally:
        stats.stop()
        provider.shutdown()
        ws.close()
    assert all(m["type"] == "process" and m["pid"] == child.pid for m in got)
    assert len(got) <= elapsed + 2  # about one per second, while 10 samples/s landed
    assert served.app.state.live.stats.process_throttled > 10
    m = got[-1]
    assert m["service"] == "orchestrator" and m["crew"] == "busy_crew" and m["agent"] == "Burner"
    assert m["data"]["memory_mb"] > 32 and m["data"]["threads"] >= 1
    assert m["data"]["cpu_percent"] is not None and m["data"]["cpu_time_s"] > 0


def _bulk_spans(served: Served, n: int, agent: str) -> float:
    """n LLM-call spans over OTLP (batches of 512); returns the seconds ingest took."""
    provider = TracerProvider(resource=Resource.create({"service.name": "bulk"}))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(f"{served.url}/v1/traces"), max_queue_size=n + 1,
            max_export_batch_size=512, schedule_delay_millis=50,
        )
    )  # fmt: skip
    tracer = provider.get_tracer("bulk")
    t0 = time.monotonic()
    for i in range(n):
        with tracer.start_as_current_span(
            "chat gpt-4o-mini",
            attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.agent.name": agent, "gen_ai.usage.input_tokens": i,
                "gen_ai.usage.output_tokens": 1, "crewscope.padding": "x" * 400,
            },
        ):  # fmt: skip
            pass
    assert provider.force_flush(60_000)
    provider.shutdown()
    return time.monotonic() - t0


def test_slow_and_dead_clients_never_block(served: Served) -> None:
    feed = served.app.state.live
    n = 4000
    # a slow reader: tiny socket buffer, reads nothing until the end, queue of 50 messages
    feed.client_queue_size = 50
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", served.port))
    slow = subscribe(served, "events=llm_call", sock=sock, max_queue=1)
    # a dead client: its socket vanishes without a close frame
    dead_sock = socket.create_connection(("127.0.0.1", served.port))
    dead = subscribe(served, sock=dead_sock)
    dead_sock.shutdown(socket.SHUT_RDWR)
    feed.client_queue_size = 10_000
    fast = subscribe(served, "events=llm_call")

    seconds = _bulk_spans(served, n, "Bulk")
    assert seconds < 30, seconds
    got = read_until(fast, lambda m: m.get("data", {}).get("input_tokens") == n - 1)
    events = [m for m in got if m["type"] == "event"]
    assert len(events) == n and not [m for m in got if m["type"] == "dropped"]
    assert [m["data"]["input_tokens"] for m in events] == list(range(n))  # all, in order

    # the slow client now reads: a "dropped" notice, and nothing lost unaccounted
    received, dropped = 0, 0
    try:
        while received + dropped < n:
            msg = json.loads(slow.recv(timeout=10))
            if msg["type"] == "dropped":
                dropped += msg["count"]
            elif msg["type"] == "event":
                received += 1
    except (TimeoutError, ConnectionClosed):
        pass
    assert dropped > 0 and received + dropped == n, (received, dropped)
    assert feed.stats.messages_dropped >= dropped
    wait_until(lambda: len(feed.clients) == 2, 15, what="dead client removed")
    metrics = _scrape(served)
    assert "crewscope_live_clients 2.0" in metrics
    for ws in (slow, fast, dead):
        ws.close()


def _scrape(served: Served) -> str:
    import urllib.request

    with urllib.request.urlopen(f"{served.url}/metrics", timeout=10) as r:
        return str(r.read().decode())
