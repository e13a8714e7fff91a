"""The ingest bearer token on OTLP/gRPC: the same constant-time check as OTLP/HTTP."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.helpers.otlp import some_spans
from tests.helpers.served import Served, free_port

TOKEN = "s3cret-grpc-token"


def test_grpc_token_refused_unless_right_compared_in_constant_time(
    make_served: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    compared: list[tuple[type, type]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((type(a), type(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    monkeypatch.setenv("CREWSCOPE_INGEST_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)
    port = free_port()
    served = make_served(grpc_address=f"127.0.0.1:{port}")
    endpoint = f"127.0.0.1:{port}"

    # the official exporter: a wrong or missing token fails at once (not retried, so not
    # UNAVAILABLE), and nothing is stored
    for headers in ({"authorization": f"Bearer {TOKEN}x"}, {"authorization": TOKEN}, None):
        exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=headers, timeout=10)
        started = time.monotonic()
        try:
            assert exporter.export(some_spans(2)) is SpanExportResult.FAILURE, headers
        finally:
            exporter.shutdown()
        assert time.monotonic() - started < 5, "the refusal was retried"
    assert compared, "the gRPC token was not checked with hmac.compare_digest"
    assert set(compared) == {(bytes, bytes)}

    # the status the exporter got
    request = encode_spans(some_spans(2))
    with grpc.insecure_channel(endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        for metadata in ([("authorization", f"Bearer {TOKEN[:-1]}")], []):
            with pytest.raises(grpc.RpcError) as refused:
                stub.Export(request, metadata=metadata, timeout=10)
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert served.span_count() == 0

    # the right token is accepted
    spans = some_spans(3)
    exporter = OTLPSpanExporter(
        endpoint=endpoint, insecure=True, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    stored = {r[0] for r in served.rows("SELECT SpanId FROM otel_traces")}
    assert stored == {format(s.context.span_id, "016x") for s in spans}
    assert TOKEN not in caplog.text  # never logged, right or wrong
