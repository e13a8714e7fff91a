"""OTLP/HTTP receiver: ``POST /v1/traces`` (and ``/v1/metrics``, ``/v1/logs`` when their
decoders are given).

Follows the OTLP/HTTP spec as the Collector's ``otlphttp`` exporter expects it: protobuf
or JSON bodies, optional gzip, the reply in the request's content type; 400 (not retried)
for undecodable data, 413 for oversize bodies (also after gzip), 415 for other content
types, 503 with ``Retry-After`` when the ingest queue is full or the write failed (the
Collector retries), 200 with ``partial_success`` when some spans were rejected. A 200 is
sent only after the batch is committed to DuckDB.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeAlias, TypeVar

import pyarrow as pa
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from google.rpc import status_pb2

from crewscope.exporter.receiver.auth import bearer_token_ok
from crewscope.exporter.receiver.decode_pool import DecodePool
from crewscope.exporter.receiver.ingest import IngestQueue, Writer
from crewscope.exporter.receiver.otlp_decode import (
    JSON,
    PROTOBUF,
    BadPayload,
    decode_traces,
    trace_response,
)

P = TypeVar("P")
"""A decoded payload (as in `ingest`): what the decoder makes is what its writer takes."""
P_co = TypeVar("P_co", covariant=True)


class Decoded(Protocol[P_co]):
    """A decoded request body: what to queue, and how many items were kept and rejected."""

    @property
    def payload(self) -> P_co: ...
    @property
    def accepted(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def error(self) -> str | None: ...


Decoder: TypeAlias = Callable[[bytes, str], Decoded[P]]
"""bytes, content type -> the decoded payload; raises `BadPayload`."""
AsyncDecoder: TypeAlias = Callable[[bytes, str], Awaitable[Decoded[P]]]
"""The same, awaited (e.g. `DecodePool.decode`, which decodes in a worker process)."""
Responder = Callable[[int, str | None, str], bytes]
"""rejected count, error message, content type -> the response body."""
MetricTables = dict[str, pa.Table]
"""A decoded metrics request: Arrow rows per ``otel_metrics_*`` table."""


@dataclass(frozen=True)
class ReceiverConfig:
    max_body_bytes: int = 16 * 1024 * 1024
    """Largest accepted body, compressed and decompressed (413 beyond)."""
    token: str | None = None
    """If set, requests must carry ``Authorization: Bearer <token>``."""
    commit_timeout_s: float = 30.0
    retry_after_s: int = 1
    max_inflight: int = 16
    """Requests being read/decoded at once; more get 503 at once, so memory stays bounded
    (at most ``max_inflight * max_body_bytes`` of bodies) even before the queue fills."""


class _Reject(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def _error(status: int, message: str, content_type: str, headers: dict[str, str]) -> Response:
    if content_type == PROTOBUF:
        body = status_pb2.Status(code=status, message=message).SerializeToString()
    else:
        body, content_type = json.dumps({"code": status, "message": message}).encode(), JSON
    return Response(body, status_code=status, media_type=content_type, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _Reject(413, f"body of {declared} bytes exceeds the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Reject(413, f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            raise _Reject(400, f"invalid gzip body: {exc}") from exc
        if len(body) > limit or inflater.unconsumed_tail:
            raise _Reject(413, f"decompressed body exceeds the limit of {limit} bytes")
    elif encoding not in ("identity", ""):
        raise _Reject(415, f"unsupported Content-Encoding {encoding!r} (use gzip or none)")
    return body


def _content_type(request: Request) -> str:
    raw = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if raw not in (PROTOBUF, JSON):
        raise _Reject(415, f"unsupported Content-Type {raw!r}: use {PROTOBUF} or {JSON}")
    return raw


def _check_token(request: Request, token: str | None) -> None:
    if token is None:
        return
    if not bearer_token_ok(request.headers.get("authorization"), token):
        raise _Reject(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})


class Admission:
    """Counts requests between admission and hand-over to the queue."""

    def __init__(self) -> None:
        self.inflight = 0
        self.refused = 0


async def receive(
    request: Request,
    *,
    config: ReceiverConfig,
    admission: Admission,
    queue: IngestQueue,
    decode: Decoder[P],
    respond: Responder,
    writer: Writer[P],
    signal: str,
    adecode: AsyncDecoder[P] | None = None,
) -> Response:
    """One OTLP export request, from bytes to a committed batch."""
    content_type = JSON  # errors before the content type is known are answered in JSON
    retry = {"Retry-After": str(config.retry_after_s)}
    admitted = False
    try:
        content_type = _content_type(request)
        _check_token(request, config.token)
        # Refuse before reading and decoding (the costly part) when saturated.
        if admission.inflight >= config.max_inflight or queue.would_refuse():
            admission.refused += 1
            queue.refuse()
            raise _Reject(503, "receiver is saturated, retry later", retry)
        admission.inflight += 1
        admitted = True
        body = await _read_body(request, config.max_body_bytes)
        try:
            if adecode is not None:
                decoded = await adecode(body, content_type)
            else:
                decoded = await run_in_threadpool(decode, body, content_type)
        except BadPayload as exc:
            raise _Reject(400, str(exc)) from exc
        del body
        future = queue.submit(decoded.payload, decoded.accepted, writer, signal)
        admission.inflight -= 1
        admitted = False
        if future is None:
            raise _Reject(503, "ingest queue is full, retry later", retry)
        queue.count_rejected(decoded.rejected)
        try:
            # shield: a timeout must not cancel the queued write (it may still commit; the
            # client then retries, so delivery is at-least-once in that rare case)
            await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(future)), config.commit_timeout_s
            )
        except Exception as exc:  # timeout or any writer error: not committed, the client retries
            raise _Reject(503, f"could not store the batch: {exc}", retry) from exc
    except _Reject as rej:
        return _error(rej.status, str(rej), content_type, rej.headers)
    finally:
        if admitted:
            admission.inflight -= 1
    body = respond(decoded.rejected, decoded.error, content_type)
    return Response(body, status_code=200, media_type=content_type)


def otlp_router(
    queue: IngestQueue,
    span_writer: Writer[pa.Table],
    config: ReceiverConfig | None = None,
    metrics: tuple[Decoder[MetricTables], Responder, Writer[MetricTables]] | None = None,
    decode_pool: DecodePool | None = None,
    logs: tuple[Decoder[pa.Table], Responder, Writer[pa.Table]] | None = None,
) -> APIRouter:
    """Routes for ``/v1/traces`` (and ``/v1/metrics`` / ``/v1/logs`` if ``metrics`` / ``logs``
    are given); trace bodies are decoded in `decode_pool`'s worker processes when one is
    given."""
    cfg = config or ReceiverConfig()
    router = APIRouter(tags=["otlp"])
    admission = Admission()

    def route(
        signal: str, name: str, summary: str, decode: Decoder[P], respond: Responder,
        writer: Writer[P], adecode: AsyncDecoder[P] | None = None,
    ) -> None:  # fmt: skip
        async def export(request: Request) -> Response:
            return await receive(
                request, config=cfg, admission=admission, queue=queue, decode=decode,
                respond=respond, writer=writer, signal=signal, adecode=adecode,
            )  # fmt: skip

        router.add_api_route(
            f"/v1/{signal}", export, methods=["POST"], name=name,
            summary=f"OTLP/HTTP {summary} export",
        )  # fmt: skip

    route(
        "traces", "traces", "trace", decode_traces, trace_response, span_writer,
        decode_pool.decode if decode_pool is not None else None,
    )  # fmt: skip
    if metrics is not None:
        route("metrics", "metrics_route", "metric", *metrics)
    if logs is not None:
        route("logs", "logs_route", "log", *logs)
    return router
