"""With an auth file, every ingest, query, export, page and live-feed connection needs a
token with the right scope: 401 without one, 403 with the wrong scope, in the API's one
error shape; the sign-in cookie reads but never sends or changes data."""

from __future__ import annotations

import json
import re
from typing import Any

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace.export import SpanExportResult
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.helpers.otlp import some_spans
from tests.query_api.access.conftest import API, TOKENS, TenantServer

READS = (
    f"{API}/runs",
    f"{API}/dashboard",
    f"{API}/export/runs?format=csv",
    f"{API}/system/health",
    "/metrics",
)


def _detail(body: bytes) -> list[dict[str, Any]]:
    detail: list[dict[str, Any]] = json.loads(body)["detail"]
    assert detail and all({"type", "loc", "msg"} <= set(d) for d in detail), detail
    return detail


def test_no_or_unknown_token_is_401_everywhere(tenant_server: TenantServer) -> None:
    otlp = b"".join(())  # an empty body: refused before it is read
    for token in (None, "not-a-token-of-this-server", TOKENS["a"] + "x"):
        for path in READS:
            status, headers, body = tenant_server.call(path, token)
            assert status == 401, (path, token, status)
            assert headers["www-authenticate"].startswith("Bearer"), headers
            assert _detail(body)[0]["type"] == "unauthenticated"
            for secret in TOKENS.values():
                assert secret.encode() not in body
        for signal in ("traces", "metrics", "logs"):
            status, _, body = tenant_server.call(
                f"/v1/{signal}", token, method="POST", body=otlp,
                headers={"Content-Type": "application/x-protobuf"},
            )  # fmt: skip
            assert status == 401, (signal, status, body)
    status, _, _ = tenant_server.call(f"{API}/rollups/refresh", None, method="POST")
    assert status == 401
    # a malformed Authorization header is no credential either
    status, _, _ = tenant_server.call(
        f"{API}/runs", headers={"Authorization": "Basic Zm9vOmJhcg=="}
    )
    assert status == 401


def test_the_wrong_scope_is_403(tenant_server: TenantServer) -> None:
    for path in READS:  # an ingest-only or admin-only token cannot read
        for token in (TOKENS["a_ingest"], TOKENS["a_admin"]):
            status, _, body = tenant_server.call(path, token)
            assert status == 403, (path, status)
            assert "'read'" in _detail(body)[0]["msg"]
    exporter = HttpExporter(
        f"{tenant_server.url}/v1/traces", headers={"authorization": f"Bearer {TOKENS['a_read']}"}
    )
    assert exporter.export(some_spans(2)) is SpanExportResult.FAILURE  # read-only cannot send
    exporter.shutdown()
    for token in (TOKENS["a"], TOKENS["a_read"]):  # rollup jobs need admin
        status, _, body = tenant_server.call(f"{API}/rollups/refresh", token, method="POST")
        assert status == 403 and "'admin'" in _detail(body)[0]["msg"]
    status, _, body = tenant_server.call(f"{API}/rollups/refresh", TOKENS["a_admin"], method="POST")
    assert status == 200, body


def test_ingest_over_http_and_grpc_needs_an_ingest_token(tenant_server: TenantServer) -> None:
    url = f"{tenant_server.url}/v1/traces"
    ok = HttpExporter(url, headers={"authorization": f"Bearer {TOKENS['a_ingest']}"})
    assert ok.export(some_spans(2)) is SpanExportResult.SUCCESS
    ok.shutdown()
    target = f"127.0.0.1:{tenant_server.serve.grpc_port}"
    ok_grpc = GrpcExporter(
        target, insecure=True, headers=(("authorization", f"Bearer {TOKENS['b']}"),)
    )
    assert ok_grpc.export(some_spans(2)) is SpanExportResult.SUCCESS
    ok_grpc.shutdown()
    # the raw gRPC status of a call without a token, with a bad one, and without the scope
    with grpc.insecure_channel(target) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        request = trace_service_pb2.ExportTraceServiceRequest()
        cases = [
            ((), grpc.StatusCode.UNAUTHENTICATED),
            ((("authorization", "Bearer nope-nope-nope-nope"),), grpc.StatusCode.UNAUTHENTICATED),
            ((("authorization", f"Bearer {TOKENS['a_read']}"),), grpc.StatusCode.PERMISSION_DENIED),
        ]
        for metadata, code in cases:
            with pytest.raises(grpc.RpcError) as caught:
                stub.Export(request, metadata=metadata, timeout=10)
            assert caught.value.code() is code
            assert not any(t in (caught.value.details() or "") for t in TOKENS.values())


def test_public_routes_need_no_token(tenant_server: TenantServer) -> None:
    status, _, body = tenant_server.call("/openapi.json")
    assert status == 200
    document = json.loads(body)
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values()), schemes
    runs = document["paths"][f"{API}/runs"]["get"]
    assert runs["security"] and {"401", "403"} <= set(runs["responses"])
    assert tenant_server.call("/docs")[0] == 200
    assert tenant_server.call("/ui/style.css")[0] == 200
    assert tenant_server.call("/ui/app.js")[0] == 200


def test_a_page_without_credential_is_the_sign_in_form(tenant_server: TenantServer) -> None:
    for page in ("/", "/runs", "/agents", "/usage"):
        status, headers, body = tenant_server.call(page, headers={"Accept": "text/html"})
        assert status == 401
        assert headers["content-type"].startswith("text/html")
        assert b'action="/auth/session"' in body and f'value="{page}"'.encode() in body


def _cookie(headers: dict[str, str]) -> tuple[str, str]:
    raw = headers["set-cookie"]
    value = re.match(r"crewscope_token=([^;]*)", raw)
    assert value, raw
    return value.group(1), raw


def test_sign_in_cookie_reads_but_never_sends(tenant_server: TenantServer) -> None:
    form = b"token=" + TOKENS["a"].encode() + b"&next=%2Fruns%3Fstatus%3Dcompleted"
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = tenant_server.call(
        "/auth/session", method="POST", body=form, headers=form_headers
    )
    assert status == 303 and headers["location"] == "/runs?status=completed"
    value, raw = _cookie(headers)
    assert "HttpOnly" in raw and "SameSite=strict" in raw.replace("Strict", "strict"), raw
    cookie = {"Cookie": f"crewscope_token={value}", "Accept": "text/html"}
    assert tenant_server.call("/runs", headers=cookie)[0] == 200  # the page
    status, _, body = tenant_server.call(f"{API}/runs", headers=cookie)  # its GET queries
    assert status == 200 and json.loads(body)["runs"]
    status, _, body = tenant_server.call("/auth/session", headers=cookie)
    assert status == 200 and json.loads(body) == {"tenant": "team-a", "scopes": ["ingest", "read"]}
    # never for sending or changing data, though the token behind it could
    status, _, _ = tenant_server.call(
        "/v1/traces",
        method="POST",
        body=b"",
        headers={**cookie, "Content-Type": "application/x-protobuf"},
    )
    assert status == 401
    assert tenant_server.call(f"{API}/rollups/refresh", method="POST", headers=cookie)[0] == 401
    # a wrong token gets the form again, an ingest-only one is told it cannot read
    for token, code in (("wrong-wrong-wrong-wrong", 401), (TOKENS["a_ingest"], 403)):
        status, headers, body = tenant_server.call(
            "/auth/session", method="POST", body=f"token={token}".encode(), headers=form_headers
        )
        assert status == code and "set-cookie" not in headers and b"<form" in body
    # `next` never leaves this server
    evil = b"token=" + TOKENS["a"].encode() + b"&next=%2F%2Fevil.example%2F"
    status, headers, _ = tenant_server.call(
        "/auth/session", method="POST", body=evil, headers=form_headers
    )
    assert status == 303 and headers["location"] == "/"
    status, headers, _ = tenant_server.call("/auth/sign-out", method="POST", headers=cookie)
    assert (
        status == 303
        and 'crewscope_token=""' in headers["set-cookie"]
        or "Max-Age=0" in headers["set-cookie"]
    )


def test_live_feed_needs_a_read_token(tenant_server: TenantServer) -> None:
    ws_url = f"ws://127.0.0.1:{tenant_server.serve.port}{API}/live"
    for headers, code in (({}, 401), ({"Authorization": f"Bearer {TOKENS['a_ingest']}"}, 403)):
        with pytest.raises(InvalidStatus) as caught:
            connect(ws_url, additional_headers=headers, open_timeout=10)
        assert caught.value.response.status_code == code
    # the cookie works from this server's own pages, not from another site's
    status, headers, _ = tenant_server.call(
        "/auth/session", method="POST", body=f"token={TOKENS['a_read']}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    value, _ = _cookie(headers)
    here = f"127.0.0.1:{tenant_server.serve.port}"
    with pytest.raises(InvalidStatus) as caught:
        connect(
            ws_url,
            additional_headers={"Cookie": f"crewscope_token={value}"},
            origin="http://evil.example",
            open_timeout=10,
        )  # type: ignore[arg-type]
    assert caught.value.response.status_code == 401
    with connect(
        ws_url,
        additional_headers={"Cookie": f"crewscope_token={value}"},
        origin=f"http://{here}",  # type: ignore[arg-type]
        open_timeout=10,
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
    with connect(
        ws_url, additional_headers={"Authorization": f"Bearer {TOKENS['b']}"}, open_timeout=10
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
