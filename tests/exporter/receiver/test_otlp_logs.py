"""`POST /v1/logs` and the OTLP/gRPC LogsService of crewscope serve, driven by the official
OTLP log exporters: rows in otel_logs with every column of exporter/sql/logs_schema.sql."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import grpc
import httpx
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.sdk._logs.export import LogRecordExportResult

from tests.exporter.receiver.log_records import Rec, records, send_http
from tests.helpers.otlp import PB
from tests.helpers.served import free_port

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"
RUN = "00f067aa0ba902b7"
ROOT = "1111222233334444"
ATTRS = {
    "crewai.crew.name": "research_crew",
    "gen_ai.agent.name": "Researcher",
    "crewai.task.name": "research",
    "crewscope.run.id": RUN,
    "crewscope.run.root_id": ROOT,
    "attempt": 2,
    "ok": True,
}
ALL_COLUMNS = (
    "Timestamp, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body, "
    "ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, "
    "ScopeAttributes, LogAttributes, EventName, CrewName, AgentName, TaskName, RunId, RootRunId"
)


def _recs() -> list[Rec]:
    return [
        Rec(
            "tool failed: timeout", "error", TRACE, SPAN, ATTRS, timestamp_ns=1_700_000_000 * 10**9
        ),
        Rec({"k": [1, 2]}, "debug", attributes={"event.name": "app.custom"}),
        Rec("an event", "info", TRACE, SPAN, {"gen_ai.agent.name": "Writer"}, event_name="ev.one"),
    ]


def _rows(served) -> list[dict[str, object]]:
    names = [c.strip() for c in ALL_COLUMNS.split(",")]
    rows = served.rows(f"SELECT {ALL_COLUMNS} FROM otel_logs ORDER BY SeverityNumber")
    return [dict(zip(names, r, strict=True)) for r in rows]


def _naive(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def _check_columns(rows: list[dict[str, object]]) -> None:
    debug, info, error = rows
    assert error["TraceId"] == TRACE and error["SpanId"] == SPAN and error["TraceFlags"] == 1
    assert (error["SeverityText"], error["SeverityNumber"]) == ("ERROR", 17)
    assert error["Body"] == "tool failed: timeout"
    assert error["Timestamp"] == _naive(1_700_000_000)
    assert error["ServiceName"] == "log-app"
    assert error["ResourceAttributes"]["service.name"] == "log-app"  # type: ignore[index]
    assert (error["ScopeName"], error["ScopeVersion"]) == ("crewscope.tests", "1.2.3")
    assert error["LogAttributes"]["attempt"] == "2"  # type: ignore[index]
    assert error["LogAttributes"]["ok"] == "true"  # type: ignore[index]
    assert (error["CrewName"], error["AgentName"], error["TaskName"]) == (
        "research_crew", "Researcher", "research",
    )  # fmt: skip
    assert (error["RunId"], error["RootRunId"]) == (RUN, ROOT)
    assert error["EventName"] is None
    # no span: '' ids, no promoted values; a map body as JSON; no timestamp -> observed time
    assert (debug["TraceId"], debug["SpanId"], debug["TraceFlags"]) == ("", "", 0)
    assert json.loads(debug["Body"]) == {"k": [1, 2]}  # type: ignore[arg-type]
    assert debug["EventName"] == "app.custom"  # from the event.name attribute
    assert abs(debug["Timestamp"] - _naive(time.time())) < timedelta(minutes=10)  # type: ignore[operator]
    assert debug["CrewName"] is None and debug["RunId"] is None
    assert info["EventName"] == "ev.one" and info["AgentName"] == "Writer"  # the field wins


def test_logs_via_http_land_with_every_column(served):
    assert send_http(served.url, _recs()) is LogRecordExportResult.SUCCESS
    _check_columns(_rows(served))
    assert served.ingest.queue.stats.by_signal["logs"] == 3


def test_logs_via_grpc_land_the_same_rows(make_served):
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

    port = free_port()
    served = make_served(grpc_address=f"127.0.0.1:{port}")
    exporter = OTLPLogExporter(endpoint=f"127.0.0.1:{port}", insecure=True)
    try:
        assert exporter.export(records(_recs())) is LogRecordExportResult.SUCCESS
    finally:
        exporter.shutdown()
    _check_columns(_rows(served))


def test_gzip_and_json_bodies(served):
    ok = send_http(served.url, _recs()[:1], compression=Compression.Gzip)
    assert ok is LogRecordExportResult.SUCCESS
    document = json.loads(json_format.MessageToJson(encode_logs(records(_recs()[:1]))))
    for rl in document["resourceLogs"]:  # OTLP/JSON: ids are hex, not base64
        for sl in rl["scopeLogs"]:
            for rec in sl["logRecords"]:
                for key in ("traceId", "spanId"):
                    rec[key] = base64.b64decode(rec[key]).hex()
    reply = httpx.post(f"{served.url}/v1/logs", json=document)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    rows = served.rows("SELECT TraceId, SpanId, Body, RunId FROM otel_logs")
    assert rows == [(TRACE, SPAN, "tool failed: timeout", RUN)] * 2


def test_bad_log_payloads_get_4xx_and_lose_nothing(served):
    good = encode_logs(records(_recs())).SerializeToString()
    assert httpx.post(f"{served.url}/v1/logs", content=good, headers=PB).status_code == 200
    cases = [
        (b"\xff\xff\xff garbage", PB, 400, "invalid OTLP protobuf"),
        (good[: len(good) // 2], PB, 400, "invalid OTLP protobuf"),
        (b"{not json", {"Content-Type": "application/json"}, 400, "invalid JSON"),
        (b"[]", {"Content-Type": "application/json"}, 400, "must be an object"),
        (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}',
         {"Content-Type": "application/json"}, 400, "not hex"),
        (good, {"Content-Type": "text/plain"}, 415, "unsupported Content-Type"),
        (b"\x1f\x8b not gzip", {**PB, "Content-Encoding": "gzip"}, 400, "invalid gzip"),
        (good, {**PB, "Content-Encoding": "br"}, 415, "Content-Encoding"),
    ]  # fmt: skip
    for body, headers, status, reason in cases:
        reply = httpx.post(f"{served.url}/v1/logs", content=body, headers=headers)
        assert reply.status_code == status, (headers, reply.text)
        if headers.get("Content-Type") == PB["Content-Type"]:
            assert reason in status_pb2.Status.FromString(reply.content).message
        else:
            assert reason in reply.json()["message"]
    assert served.rows("SELECT count(*) FROM otel_logs") == [(3,)]


def test_oversize_and_gzip_bomb_are_413(make_served):
    served = make_served(receiver_max_body_bytes=64 * 1024)
    big = b"\x0a" + b"\x00" * (200 * 1024)
    assert httpx.post(f"{served.url}/v1/logs", content=big, headers=PB).status_code == 413
    bomb = gzip.compress(b"\x00" * (50 * 1024 * 1024))
    reply = httpx.post(
        f"{served.url}/v1/logs", content=bomb, headers={**PB, "Content-Encoding": "gzip"}
    )
    assert reply.status_code == 413
    assert "decompressed" in status_pb2.Status.FromString(reply.content).message
    assert send_http(served.url, _recs()) is LogRecordExportResult.SUCCESS


def test_partial_success_for_invalid_ids(served):
    request = encode_logs(records(_recs()))
    request.resource_logs[0].scope_logs[0].log_records[0].trace_id = b"\x01\x02"
    reply = httpx.post(f"{served.url}/v1/logs", content=request.SerializeToString(), headers=PB)
    assert reply.status_code == 200
    response = ExportLogsServiceResponse.FromString(reply.content)
    assert response.partial_success.rejected_log_records == 1
    assert "invalid trace or span ids" in response.partial_success.error_message
    assert served.rows("SELECT count(*) FROM otel_logs") == [(2,)]


def test_bearer_token_http_and_grpc(make_served, monkeypatch):
    monkeypatch.setenv("CREWSCOPE_INGEST_TOKEN", "s3cret")
    port = free_port()
    served = make_served(grpc_address=f"127.0.0.1:{port}")
    body = encode_logs(records(_recs())).SerializeToString()
    reply = httpx.post(f"{served.url}/v1/logs", content=body, headers=PB)
    assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
    wrong = {**PB, "Authorization": "Bearer nope"}
    assert httpx.post(f"{served.url}/v1/logs", content=body, headers=wrong).status_code == 401
    ok = send_http(served.url, _recs(), headers={"Authorization": "Bearer s3cret"})
    assert ok is LogRecordExportResult.SUCCESS
    request = encode_logs(records(_recs()))
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = logs_service_pb2_grpc.LogsServiceStub(channel)
        try:
            stub.Export(request, timeout=10)
            raise AssertionError("gRPC export without a token was accepted")
        except grpc.RpcError as exc:
            assert exc.code() is grpc.StatusCode.UNAUTHENTICATED
        stub.Export(request, metadata=[("authorization", "Bearer s3cret")], timeout=10)
    assert served.rows("SELECT count(*) FROM otel_logs") == [(6,)]


def test_full_queue_answers_503_with_retry_after(make_served):
    served = make_served(receiver_max_queued_spans=3)
    url = f"{served.url}/v1/logs"
    body = encode_logs(records(_recs())).SerializeToString()
    status: list[int] = []
    with served.ingest.store._cursor_lock:  # a stalled disk: the log writer waits for a cursor
        first = threading.Thread(
            target=lambda: status.append(
                httpx.post(url, content=body, headers=PB, timeout=30).status_code
            )
        )
        first.start()
        deadline = time.monotonic() + 10
        while served.ingest.queue.depth != 3:
            assert time.monotonic() < deadline, "request never reached the queue"
            time.sleep(0.01)
        reply = httpx.post(url, content=body, headers=PB)
        assert reply.status_code == 503 and reply.headers["retry-after"] == "1"
    first.join(30)
    assert status == [200]  # acknowledged only once committed
    assert served.rows("SELECT count(*) FROM otel_logs") == [(3,)]


def test_received_rows_equal_the_in_process_exporters(served, tmp_path):
    import duckdb

    from crewscope.exporter import DuckDBLogExporter

    path = str(tmp_path / "direct-logs.duckdb")
    direct = DuckDBLogExporter(path)
    finished = records(_recs())
    assert direct.export(finished) is LogRecordExportResult.SUCCESS
    direct.shutdown()
    assert send_http(served.url, _recs()) is LogRecordExportResult.SUCCESS
    columns = ALL_COLUMNS.replace("Timestamp, ", "")  # the debug record's time is "now"
    sql = f"SELECT {columns} FROM otel_logs ORDER BY SeverityNumber"
    con = duckdb.connect(path, read_only=True)
    expected = con.execute(sql).fetchall()
    con.close()
    assert len(expected) == 3
    assert served.rows(sql) == expected
