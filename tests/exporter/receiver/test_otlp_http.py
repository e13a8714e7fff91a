"""The OTLP receiver inside `crewscope serve`, driven by the official OTLP exporters."""

from __future__ import annotations

import gzip
import json
import threading
import time

import httpx
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from crewscope.demo.crew import build_crew, make_llm
from crewscope.exporter import DuckDBSpanExporter
from crewscope.instrumentation import CrewAIInstrumentor
from tests.helpers.otlp import PB, some_spans
from tests.helpers.served import free_port

COLUMNS = (
    "TraceId, SpanId, ParentSpanId, SpanName, SpanKind, StatusCode, StatusMessage, Duration, "
    "ServiceName, ScopeName, SpanAttributes, Events, GenAiOperation, CrewName, TaskName, "
    "AgentName, ToolName, Model, ProviderName, InputTokens, OutputTokens, CostUsd, ErrorType"
)


def test_crew_run_via_otlp_http_lands_identical_to_in_process(served, tmp_path, llm_server):
    in_process = DuckDBSpanExporter(str(tmp_path / "direct.duckdb"))
    provider = TracerProvider(resource=Resource.create({"service.name": "crew-app"}))
    provider.add_span_processor(SimpleSpanProcessor(in_process))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{served.url}/v1/traces"))
    )
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "otlp"})
    finally:
        instrumentor.uninstrument()
    provider.shutdown()
    import duckdb

    direct = duckdb.connect(str(tmp_path / "direct.duckdb"), read_only=True)
    expected = direct.execute(f"SELECT {COLUMNS} FROM otel_traces ORDER BY SpanId").fetchall()
    direct.close()
    received = served.rows(f"SELECT {COLUMNS} FROM otel_traces ORDER BY SpanId")
    assert len(expected) == 10
    assert received == expected
    tokens = served.rows(
        "SELECT sum(InputTokens), sum(OutputTokens) FROM otel_traces WHERE GenAiOperation='chat'"
    )[0]
    calls = llm_server.calls
    assert tokens == (sum(c.prompt_tokens for c in calls), sum(c.completion_tokens for c in calls))


def test_gzip_and_json_bodies(served):
    exporter = OTLPSpanExporter(endpoint=f"{served.url}/v1/traces", compression=Compression.Gzip)
    assert exporter.export(some_spans(3)) is SpanExportResult.SUCCESS
    assert served.span_count() == 3
    spans = some_spans(2)
    document = json.loads(json_format.MessageToJson(encode_spans(spans)))
    for rs in document["resourceSpans"]:  # OTLP/JSON: ids are hex, not base64
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        import base64

                        span[key] = base64.b64decode(span[key]).hex()
    reply = httpx.post(f"{served.url}/v1/traces", json=document)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert served.span_count() == 5
    ids = {format(s.context.span_id, "016x") for s in spans}
    stored = {r[0] for r in served.rows("SELECT SpanId FROM otel_traces")}
    assert ids <= stored


def test_bad_payloads_get_clear_4xx_and_lose_nothing(served):
    good = encode_spans(some_spans(2)).SerializeToString()
    assert httpx.post(f"{served.url}/v1/traces", content=good, headers=PB).status_code == 200
    cases = [
        (b"\xff\xff\xff garbage", PB, 400, "invalid OTLP protobuf"),
        (good[: len(good) // 2], PB, 400, "invalid OTLP protobuf"),
        (b"{not json", {"Content-Type": "application/json"}, 400, "invalid JSON"),
        (b"[]", {"Content-Type": "application/json"}, 400, "must be an object"),
        (good, {"Content-Type": "text/plain"}, 415, "unsupported Content-Type"),
        (b"\x1f\x8b not gzip", {**PB, "Content-Encoding": "gzip"}, 400, "invalid gzip"),
        (good, {**PB, "Content-Encoding": "br"}, 415, "Content-Encoding"),
    ]
    for body, headers, status, reason in cases:
        reply = httpx.post(f"{served.url}/v1/traces", content=body, headers=headers)
        assert reply.status_code == status, (headers, reply.text)
        if headers.get("Content-Type") == PB["Content-Type"]:
            assert reason in status_pb2.Status.FromString(reply.content).message
        else:
            assert reason in reply.json()["message"]
    assert served.span_count() == 2  # nothing stored before was lost, nothing bad was stored


def test_oversize_and_gzip_bomb_are_413(make_served):
    served = make_served(receiver_max_body_bytes=64 * 1024)
    big = b"\x0a" + b"\x00" * (200 * 1024)
    reply = httpx.post(f"{served.url}/v1/traces", content=big, headers=PB)
    assert reply.status_code == 413
    bomb = gzip.compress(b"\x00" * (50 * 1024 * 1024))
    assert len(bomb) < 64 * 1024
    reply = httpx.post(
        f"{served.url}/v1/traces", content=bomb, headers={**PB, "Content-Encoding": "gzip"}
    )
    assert reply.status_code == 413
    assert "decompressed" in status_pb2.Status.FromString(reply.content).message
    ok = encode_spans(some_spans(2)).SerializeToString()
    assert httpx.post(f"{served.url}/v1/traces", content=ok, headers=PB).status_code == 200


def test_partial_success_for_invalid_ids(served):
    request = encode_spans(some_spans(3))
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x01\x02"
    reply = httpx.post(f"{served.url}/v1/traces", content=request.SerializeToString(), headers=PB)
    assert reply.status_code == 200
    response = ExportTraceServiceResponse.FromString(reply.content)
    assert response.partial_success.rejected_spans == 1
    assert "invalid trace or span ids" in response.partial_success.error_message
    assert served.span_count() == 2


def _post_in_thread(url: str, body: bytes) -> tuple[threading.Thread, list[int]]:
    status: list[int] = []
    thread = threading.Thread(
        target=lambda: status.append(
            httpx.post(url, content=body, headers=PB, timeout=30).status_code
        )
    )
    thread.start()
    return thread, status


def _wait_depth(served, depth: int) -> None:
    deadline = time.monotonic() + 10
    while served.ingest.queue.depth != depth:
        assert time.monotonic() < deadline, "request never reached the queue"
        time.sleep(0.01)


def test_full_queue_answers_503_with_retry_after(make_served):
    served = make_served(receiver_max_queued_spans=5)
    url = f"{served.url}/v1/traces"
    with served.ingest.store._lock:  # a stalled disk: the writer waits inside the store
        first, status = _post_in_thread(url, encode_spans(some_spans(3)).SerializeToString())
        _wait_depth(served, 3)
        reply = httpx.post(url, content=encode_spans(some_spans(3)).SerializeToString(), headers=PB)
        assert reply.status_code == 503
        assert reply.headers["retry-after"] == "1"
        # refused before it was decoded (a request as large as the last one would not fit)
        assert served.ingest.queue.stats.requests_refused_full == 1
        assert served.ingest.queue.shedding
    first.join(30)
    assert status == [200]  # acknowledged only once committed
    assert served.span_count() == 3
    # a batch bigger than the whole queue is delayed until the queue is empty, not refused
    big = encode_spans(some_spans(8)).SerializeToString()
    assert httpx.post(url, content=big, headers=PB).status_code == 200
    assert served.span_count() == 11


def test_commit_timeout_answers_503_and_the_writer_survives(make_served, monkeypatch):
    monkeypatch.setenv("CREWSCOPE_INGEST_COMMIT_TIMEOUT_S", "0.2")
    served = make_served()
    url = f"{served.url}/v1/traces"
    with served.ingest.store._lock:
        reply = httpx.post(url, content=encode_spans(some_spans(2)).SerializeToString(), headers=PB)
        assert (
            reply.status_code == 503
            and "could not store" in status_pb2.Status.FromString(reply.content).message
        )
    # the late commit still happened (at-least-once), and the writer thread is alive
    ok = httpx.post(url, content=encode_spans(some_spans(3)).SerializeToString(), headers=PB)
    assert ok.status_code == 200
    assert served.span_count() == 5
    assert served.ingest.queue.stats.write_errors == 0


def test_bearer_token(make_served, monkeypatch):
    monkeypatch.setenv("CREWSCOPE_INGEST_TOKEN", "s3cret")
    served = make_served()
    body = encode_spans(some_spans(2)).SerializeToString()
    assert httpx.post(f"{served.url}/v1/traces", content=body, headers=PB).status_code == 401
    exporter = OTLPSpanExporter(
        endpoint=f"{served.url}/v1/traces", headers={"Authorization": "Bearer s3cret"}
    )
    assert exporter.export(some_spans(2)) is SpanExportResult.SUCCESS
    assert served.span_count() == 2


def test_grpc_receiver_with_official_exporter(make_served):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

    port = free_port()
    served = make_served(grpc_address=f"127.0.0.1:{port}")
    spans = some_spans(4)
    exporter = Grpc(endpoint=f"127.0.0.1:{port}", insecure=True)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()
    stored = {r[0] for r in served.rows("SELECT SpanId FROM otel_traces")}
    assert stored == {format(s.context.span_id, "016x") for s in spans}


@pytest.mark.parametrize("path", ["/v1/traces"])
def test_receiver_keeps_serving_queries_after_abuse(served, path):
    for _ in range(20):
        httpx.post(f"{served.url}{path}", content=b"\x00garbage", headers=PB)
    assert httpx.get(f"{served.url}/api/v1/monitoring/runs").status_code == 200


def test_saturated_receiver_refuses_before_decoding(make_served, monkeypatch):
    """With the queue full, new requests get 503 without being read or decoded."""
    monkeypatch.setenv("CREWSCOPE_INGEST_MAX_INFLIGHT", "1")
    served = make_served(receiver_max_queued_spans=3)
    url = f"{served.url}/v1/traces"
    with served.ingest.store._lock:
        first, status = _post_in_thread(url, encode_spans(some_spans(3)).SerializeToString())
        _wait_depth(served, 3)
        refused_before = served.ingest.queue.stats.requests_refused_full
        # garbage would be a 400 if it were decoded: a 503 shows it was refused up front
        reply = httpx.post(url, content=b"\xff not protobuf", headers=PB)
        assert reply.status_code == 503 and reply.headers["retry-after"] == "1"
        assert served.ingest.queue.stats.requests_refused_full == refused_before + 1
    first.join(30)
    assert status == [200] and served.span_count() == 3
