"""End to end through a real OpenTelemetry Collector into ``crewscope serve``.

SDK (official OTLP/gRPC exporter) -> main Collector (the repo's otel-collector.yaml)
-> crewscope's OTLP/HTTP receiver (-> DuckDB) and -> the sink Collector (Jaeger's
place). The span counts at each hop come from the Collector's own metrics and the
receiver's queue stats; they are printed (``pytest -s``) and put in assertion messages.

Skips with the reason shown where no Go toolchain is found (``otelcol_binary``).
"""

from __future__ import annotations

import importlib.util
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from crewscope.demo.crew import build_crew, make_llm, word_counter_tool
from crewscope.exporter import DuckDBSpanExporter
from crewscope.instrumentation import CrewAIInstrumentor


def _load_e2e() -> ModuleType:
    name = "crewscope_tests_collector_e2e"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_e2e.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
    return sys.modules[name]


e2e = _load_e2e()

SERVICE = "crewscope-e2e"
SELF_TELEMETRY_OFF = {"CREWSCOPE_SELF_TELEMETRY": "false"}
"""crewscope serve stores spans of its own API requests (not of /v1/traces) in the same file
and counts them in the ingest stats; off, so every row and count here is the test's."""
CREWSCOPE_ONLY = {
    "OTELCOL_TRACES_EXPORTERS": "[otlp_http/crewscope]",
    "OTELCOL_METRICS_EXPORTERS": "[otlp_http/crewscope]",
}
# Every column of otel_traces; all must be equal whichever path a span took.
COLUMNS = (
    "Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName, "
    "ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode, "
    "StatusMessage, Events, Links, GenAiOperation, CrewName, TaskName, AgentName, ToolName, "
    "Model, ProviderName, InputTokens, OutputTokens, CostUsd, ErrorType"
)
PROMOTED_FILLED = (
    "GenAiOperation", "CrewName", "TaskName", "AgentName", "ToolName", "Model",
    "ProviderName", "InputTokens", "OutputTokens", "CostUsd", "ErrorType",
)  # fmt: skip
OTLP_KINDS = {
    0: "Unspecified",
    1: "Internal",
    2: "Server",
    3: "Client",
    4: "Producer",
    5: "Consumer",
}
OTLP_STATUS = {0: "Unset", 1: "Ok", 2: "Error"}


@pytest.fixture
def crewscope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """Factory: ``crewscope(**create_app_kwargs)`` -> a running in-thread crewscope serve."""
    for name, value in SELF_TELEMETRY_OFF.items():
        monkeypatch.setenv(name, value)
    started: list[Any] = []

    def start(**kwargs: Any) -> Any:
        served = e2e.start_crewscope(tmp_path / f"crewscope{len(started)}.duckdb", **kwargs)
        started.append(served)
        return served

    yield start
    for served in reversed(started):
        served.stop()


def _hold(lock: Any, seconds: float) -> None:
    with lock:
        time.sleep(seconds)


def _report(title: str, hops: Any) -> str:
    text = f"{title}, span counts per hop:\n{hops}"
    print(f"\n{text}")
    return text


# --- 1. a real crew run, in-process and through the Collector ----------------------------


def _run_crews(llm_server: Any, file_a: Path, collector_grpc: str) -> None:
    """Two instrumented crew runs, the second with a tool that raises (an error span with
    an exception event); the provider exports to DuckDB file A and, over OTLP/gRPC, to
    the Collector."""
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(BatchSpanProcessor(DuckDBSpanExporter(str(file_a))))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"http://{collector_grpc}", insecure=True, timeout=10)
        )
    )
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "otlp"})
        build_crew(make_llm(llm_server.base_url), tool=word_counter_tool(fail=True)).kickoff(
            inputs={"topic": "collectors"}
        )
    finally:
        instrumentor.uninstrument()
        provider.shutdown()  # flushes both processors


def _read_file(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return list(con.execute(sql).fetchall())
    finally:
        con.close()


def _sink_view(span: dict[str, Any]) -> tuple[Any, ...]:
    """(TraceId, SpanId, ParentSpanId, SpanName, SpanKind, StatusCode, InputTokens,
    OutputTokens) of one span as the sink wrote it (OTLP JSON)."""
    attributes = {a["key"]: a["value"] for a in span.get("attributes", [])}

    def tokens(key: str) -> int | None:
        value = attributes.get(key)
        return None if value is None else int(value["intValue"])

    return (
        span["traceId"],
        span["spanId"],
        span.get("parentSpanId", ""),
        span["name"],
        OTLP_KINDS[span.get("kind", 0)],
        OTLP_STATUS[span.get("status", {}).get("code", 0)],
        tokens("gen_ai.usage.input_tokens"),
        tokens("gen_ai.usage.output_tokens"),
    )


@pytest.mark.timeout(180)
def test_crew_run_arrives_identical_in_crewscope_and_at_second_destination(
    start_main_collector: Any, otlp_sink: Any, crewscope: Any, tmp_path: Path, llm_server: Any
) -> None:
    served = crewscope()
    collector = start_main_collector(otlp_sink, crewscope_endpoint=served.url)
    file_a = tmp_path / "in-process.duckdb"

    _run_crews(llm_server, file_a, collector.grpc_endpoint)

    expected = _read_file(file_a, f"SELECT {COLUMNS} FROM otel_traces ORDER BY SpanId")
    span_ids = [row[2] for row in expected]
    n = len(expected)
    assert n >= 20, f"two crew runs gave only {n} spans in the in-process file"
    assert len({row[1] for row in expected}) == 2  # two traces
    assert [row[5] for row in expected if row[13] == "Error"] == ["execute_tool word_counter"]

    ok, waited = e2e.wait_until(lambda: served.count() >= n, timeout=30)
    in_sink = otlp_sink.wait_for_spans("jaeger", span_ids, timeout=30)
    for exporter in ("otlp_http/crewscope", "otlp_grpc/jaeger", "otlp_http/tempo"):
        collector.wait_for_metric("otelcol_exporter_sent_spans", n, exporter=exporter)
    hops = e2e.hop_counts(
        collector,
        sent=n,
        crewscope=served,
        exporters=("otlp_http/crewscope", "otlp_grpc/jaeger", "otlp_http/tempo"),
        sink=otlp_sink,
    )
    report = _report(f"crew runs ({n} spans, crewscope had them after {waited:.2f}s)", hops)
    assert ok, report

    # crewscope's DuckDB (file B) holds exactly file A's rows, every column equal.
    received = served.rows(f"SELECT {COLUMNS} FROM otel_traces ORDER BY SpanId")  # all rows
    assert len(received) == n, report
    for got, want in zip(received, expected, strict=True):
        assert got == want, f"span {want[2]} differs:\n got {got}\nwant {want}"

    # The token columns are the fake LLM's usage, per chat span and in total.
    chats = served.rows(
        "SELECT sum(InputTokens), sum(OutputTokens), count(*) FROM otel_traces "
        "WHERE GenAiOperation = 'chat'"
    )[0]
    calls = llm_server.calls
    assert chats == (
        sum(c.prompt_tokens for c in calls),
        sum(c.completion_tokens for c in calls),
        len(calls),
    )
    # ... and the promoted columns compared above are really filled (not all NULL).
    promoted = COLUMNS.split(", ").index("GenAiOperation")
    filled = [
        name
        for i, name in enumerate(COLUMNS.split(", ")[promoted:], start=promoted)
        if any(row[i] is not None for row in expected)
    ]
    print(f"promoted columns filled in this run: {filled}")
    assert set(PROMOTED_FILLED) <= set(filled), filled

    # The second destination (written by the sink Collector, not by crewscope) has the
    # same ids, parents, names, kinds, statuses and tokens.
    assert set(in_sink) == set(span_ids), report
    want_core = {r[2]: (r[1], r[2], r[3], r[5], r[6], r[13], r[24], r[25]) for r in expected}
    for span_id, span in in_sink.items():
        assert _sink_view(span) == want_core[span_id]
        assert span["_resource"]["service.name"] == SERVICE

    # Each hop saw every span exactly once.
    assert hops["collector: otelcol_receiver_accepted_spans"] == n, report
    for exporter in ("otlp_http/crewscope", "otlp_grpc/jaeger", "otlp_http/tempo"):
        assert hops[f"collector: otelcol_exporter_sent_spans{{{exporter}}}"] == n, report
    assert hops["crewscope receiver: spans_written"] == n, report
    assert hops["sink: spans in jaeger file"] == n, report
    assert hops["sink: spans in tempo file"] == n, report


# --- 2. overload: 503 + Retry-After, the Collector retries, nothing is lost --------------

OVERLOAD_TRACES = 512  # x 20 spans = 10240 spans = 10 Collector batches of 1024
OVERLOAD_QUEUE_SPANS = 1024
"""The receiver's ingest queue holds exactly one Collector batch: send_batch_size is 1024 and
the SDK sends 256-span requests, so no batch exceeds 1024 spans and each one fits alone (a
batch larger than the whole queue would be refused for ever)."""


@pytest.mark.timeout(120)
def test_overloaded_receiver_refuses_and_collector_retries_until_every_span_lands_once(
    start_main_collector: Any, crewscope: Any
) -> None:
    """A burst of batches against a queue that holds one: 503s, retries, no loss, no dups.

    The burst is made certain rather than left to timing: the store is held busy for 2 s
    as the burst starts (a slow commit), and the spans first wait in the
    Collector's persistent queue (crewscope's endpoint closed), then the Collector restarts
    pointed at crewscope, and its 4 queue consumers each send a 1024-span batch at once.
    While the first one is decoded and committed the others find the queue full (503 with
    Retry-After: 1); the Collector retries them until every batch is committed.
    """
    served = crewscope(receiver_max_queued_spans=OVERLOAD_QUEUE_SPANS)
    collector = start_main_collector(
        None, crewscope_endpoint=f"http://127.0.0.1:{e2e.free_port()}", extra_env=CREWSCOPE_ONLY
    )
    spans = e2e.crew_like_spans(OVERLOAD_TRACES, SERVICE, run="overload")
    n = len(spans)
    batches = e2e.queue_backlog(collector, spans)  # official OTLP/gRPC exporter, 4 threads
    first_hops = e2e.hop_counts(collector, sent=n)
    first_hops.counts["collector: batches queued for crewscope"] = batches
    first_hops.counts["collector: otelcol_exporter_queue_size{otlp_http/crewscope}"] = (
        collector.metric(
            "otelcol_exporter_queue_size", exporter="otlp_http/crewscope", data_type="traces"
        )
    )
    _report("overload, before the release (crewscope endpoint closed)", first_hops)
    assert first_hops["collector: otelcol_receiver_accepted_spans"] == n
    # 10 when the SDK keeps up; a batch flushed early by the 1 s timeout is smaller, never larger.
    assert batches >= n // OVERLOAD_QUEUE_SPANS

    # A commit that takes a while (a slow disk): the store is held busy for the first 2 s of
    # the burst, so the batches after the first find the queue full on any machine (on an
    # idle one the writer could otherwise keep up and never refuse).
    store_busy = threading.Thread(target=_hold, args=(served.app.state.db.store._lock, 2.0))
    store_busy.start()
    started = e2e.release_backlog(collector, served.url)
    store_busy.join()
    ok, _ = e2e.wait_until(lambda: served.stats()["spans_written"] >= n, timeout=60, interval=0.1)
    elapsed = time.monotonic() - started
    # Nothing left in the Collector that could still arrive later (as a duplicate).
    left = collector.wait_for_metric(
        "otelcol_exporter_queue_size", 0, exporter="otlp_http/crewscope", data_type="traces"
    )
    hops = e2e.hop_counts(collector, sent=n, crewscope=served)
    del hops.counts["collector: otelcol_receiver_accepted_spans"]  # 0: a new process
    del hops.counts["collector: otelcol_receiver_refused_spans"]
    report = _report(f"overload, after the release ({n} spans written in {elapsed:.1f}s)", hops)
    assert ok, report
    assert left == 0, f"{left:g} batches still queued in the Collector\n{report}"

    stats = served.stats()
    assert stats["requests_refused_full"] > 0, f"the receiver never answered 503\n{report}"
    # The Collector saw the 503 and honoured Retry-After (a throttle, then a retry).
    throttled = [
        line
        for line in collector.process.log_text().splitlines()
        if "Will retry" in line and "Throttle (1s)" in line and "HTTP Status Code 503" in line
    ]
    assert throttled, f"no throttled retry in {collector.process.log_path}"
    total, distinct = served.rows("SELECT count(*), count(DISTINCT SpanId) FROM otel_traces")[0]
    assert (total, distinct) == (n, n), report
    stored = {r[0] for r in served.rows("SELECT SpanId FROM otel_traces")}
    assert stored == {e2e.hex_span_id(s) for s in spans}
    assert stats["spans_written"] == stats["spans_accepted"] == n, report
    assert stats["write_errors"] == 0, report
    assert hops["collector: otelcol_exporter_sent_spans{otlp_http/crewscope}"] == n, report
    tokens = served.rows("SELECT sum(InputTokens) FROM otel_traces WHERE GenAiOperation='chat'")
    assert tokens[0][0] == OVERLOAD_TRACES * sum(100 + k for k in (0, 1, 2, 1, 2, 3, 2, 3, 4, 9))


# --- 3. ingest rate through the Collector (measurements, printed) -------------------------

RATE_TRACES = 512  # x 20 spans = 10240 spans = 10 full Collector batches (no 1 s tail wait)


@pytest.fixture
def crewscope_cli(tmp_path: Path) -> Iterator[Any]:
    """The real ``crewscope serve`` command in a subprocess (default ingest queue)."""
    cli = e2e.start_crewscope_cli(
        tmp_path / "rate.duckdb",
        tmp_path / "crewscope-serve.log",
        e2e.env_for_subprocess(**SELF_TELEMETRY_OFF),
    )
    yield cli
    cli.stop()


def _count_in_file(cli: Any) -> tuple[int, int]:
    # uvicorn re-raises SIGTERM after its graceful shutdown (lifespan done, file closed).
    assert cli.stop() in (0, -signal.SIGTERM), cli.log_tail()
    total, distinct = _read_file(
        cli.db_path,
        f"SELECT count(*), count(DISTINCT SpanId) FROM otel_traces WHERE ServiceName = '{SERVICE}'",
    )[0]
    return int(total), int(distinct)


@pytest.mark.timeout(120)
def test_ingest_rate_sdk_through_collector_into_crewscope_serve(
    start_main_collector: Any, crewscope_cli: Any
) -> None:
    """SDK (official OTLP/gRPC exporter, 4 threads) -> Collector -> ``crewscope serve``
    (its own process) -> DuckDB; prints spans/s from the first export to the last commit."""
    collector = start_main_collector(
        None, crewscope_endpoint=crewscope_cli.url, extra_env=CREWSCOPE_ONLY
    )
    spans = e2e.crew_like_spans(RATE_TRACES, SERVICE, run="rate")
    n = len(spans)
    started = time.monotonic()
    send_s = e2e.export_spans(collector.grpc_endpoint, spans, threads=4)
    ok, _ = e2e.wait_until(lambda: crewscope_cli.span_count() >= n, timeout=60, interval=0.05)
    total_s = time.monotonic() - started
    hops = e2e.hop_counts(collector, sent=n)
    hops.counts["crewscope serve: spans in DuckDB (health)"] = crewscope_cli.span_count()
    hops.counts["crewscope serve: spans refused (503)"] = crewscope_cli.refused_spans()
    report = _report(
        f"ingest rate, SDK -> Collector -> crewscope serve -> DuckDB: {n} spans in "
        f"{total_s:.2f}s = {n / total_s:,.0f} spans/s end to end (the SDK alone took "
        f"{send_s:.2f}s = {n / send_s:,.0f} spans/s to hand them to the Collector)",
        hops,
    )
    assert ok, f"{report}\n{crewscope_cli.log_tail()}"
    assert _count_in_file(crewscope_cli) == (n, n), report


DRAIN_TRACES = 1024  # x 20 spans = 20480 spans = 20 Collector batches


@pytest.mark.timeout(120)
def test_ingest_rate_collector_backlog_into_crewscope_serve(
    start_main_collector: Any, crewscope_cli: Any
) -> None:
    """Collector -> ``crewscope serve`` alone, without the Python sender as the bottleneck:
    a backlog queued in the Collector is released at once; prints spans/s from the
    Collector's (re)start to the last commit."""
    collector = start_main_collector(
        None, crewscope_endpoint=f"http://127.0.0.1:{e2e.free_port()}", extra_env=CREWSCOPE_ONLY
    )
    spans = e2e.crew_like_spans(DRAIN_TRACES, SERVICE, run="drain")
    n = len(spans)
    batches = e2e.queue_backlog(collector, spans)
    started = e2e.release_backlog(collector, crewscope_cli.url)
    ready_s = time.monotonic() - started
    ok, _ = e2e.wait_until(lambda: crewscope_cli.span_count() >= n, timeout=60, interval=0.05)
    total_s = time.monotonic() - started
    hops = e2e.hop_counts(collector, sent=n)
    del hops.counts["collector: otelcol_receiver_accepted_spans"]  # 0: a new process
    del hops.counts["collector: otelcol_receiver_refused_spans"]
    hops.counts["crewscope serve: spans in DuckDB (health)"] = crewscope_cli.span_count()
    hops.counts["crewscope serve: spans refused (503)"] = crewscope_cli.refused_spans()
    report = _report(
        f"ingest rate, Collector backlog ({batches:g} batches) -> crewscope serve -> DuckDB: "
        f"{n} spans in {total_s:.2f}s = {n / total_s:,.0f} spans/s from the Collector's start "
        f"(it was ready after {ready_s:.2f}s)",
        hops,
    )
    assert ok, f"{report}\n{crewscope_cli.log_tail()}"
    assert _count_in_file(crewscope_cli) == (n, n), report


def test_logs_through_the_collector_land_in_crewscope_and_loki(
    start_main_collector: Any, otlp_sink: Any, crewscope: Any
) -> None:
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs.export import LogRecordExportResult

    from tests.exporter.receiver.log_records import Rec, records

    served = crewscope()
    collector = start_main_collector(otlp_sink, crewscope_endpoint=served.url)
    trace_id, span_id, run_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "1" * 16
    attrs = {"gen_ai.agent.name": "Researcher", "crewscope.run.id": run_id}
    recs = [Rec("tool failed", "error", trace_id, span_id, attrs), Rec("plain record", "info")]
    exporter = OTLPLogExporter(endpoint=f"http://{collector.grpc_endpoint}", insecure=True)
    try:
        assert exporter.export(records(recs, "e2e-logs")) is LogRecordExportResult.SUCCESS
    finally:
        exporter.shutdown()

    def stored() -> list[tuple[Any, ...]]:
        return served.rows(
            "SELECT Body, TraceId, SpanId, SeverityNumber, AgentName, RunId, ServiceName "
            "FROM otel_logs ORDER BY SeverityNumber"
        )

    ok, _ = e2e.wait_until(lambda: len(stored()) >= 2, timeout=30)
    assert ok, collector.process.log_tail()
    assert stored() == [
        ("plain record", "", "", 9, None, None, "e2e-logs"),
        ("tool failed", trace_id, span_id, 17, "Researcher", run_id, "e2e-logs"),
    ]
    wanted = {"tool failed", "plain record"}
    assert otlp_sink.wait_for_log_bodies(wanted, timeout=30) == wanted
