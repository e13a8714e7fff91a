"""OTLP/gRPC receiver (port 4317 by default) on the same ingest queue as OTLP/HTTP: the
TraceService and, when a log writer is given, the LogsService.

Full queue or failed write -> ``UNAVAILABLE`` (retried by OTLP clients and the Collector);
undecodable data never reaches us (gRPC rejects it), malformed ids -> partial success.
With a token set, a missing or wrong ``authorization: Bearer <token>`` -> ``UNAUTHENTICATED``
(the constant-time check OTLP/HTTP uses, `crewscope.exporter.receiver.auth`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from crewscope.exporter.receiver.auth import bearer_token_ok
from crewscope.exporter.receiver.ingest import IngestQueue, Writer
from crewscope.exporter.receiver.otlp_decode import (
    DecodedTable,
    to_columns,
    with_partial_success,
)
from crewscope.exporter.receiver.otlp_logs import to_log_rows

logger = logging.getLogger(__name__)

# The generated ``*_pb2_grpc`` module has no type hints: declare the one function used.
_add_trace_service: Callable[[trace_service_pb2_grpc.TraceServiceServicer, grpc.Server], None] = (
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server
)
_add_logs_service: Callable[[logs_service_pb2_grpc.LogsServiceServicer, grpc.Server], None] = (
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server
)


def _check_token(context: grpc.ServicerContext, token: str | None) -> None:
    if token is None:
        return
    given = authorization(context)
    if given is None or not bearer_token_ok(given, token):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")


def _store(
    queue: IngestQueue,
    writer: Writer[pa.Table],
    table: pa.Table,
    accepted: int,
    rejected: int,
    signal: str,
    timeout_s: float,
    context: grpc.ServicerContext,
) -> None:
    """Queue the rows and wait for their commit; aborts UNAVAILABLE when that fails."""
    future = queue.submit(table, accepted, writer, signal)
    if future is None:
        context.abort(grpc.StatusCode.UNAVAILABLE, "ingest queue is full, retry later")
    queue.count_rejected(rejected)
    try:
        future.result(timeout_s)
    except Exception as exc:  # noqa: BLE001 - timeout or any writer error: not committed, retry
        context.abort(grpc.StatusCode.UNAVAILABLE, f"could not store the batch: {exc}")


@dataclass(frozen=True)
class _Signal:
    """One OTLP signal as a gRPC service decodes and answers it."""

    name: str  # "traces" or "logs", for the ingest counters
    decode: Callable[[Any], DecodedTable]  # the service's export request -> rows
    response: Callable[[], Message]  # a new, empty export response
    rejected_field: str  # the partial success's count of rejected items


Target = tuple[IngestQueue, Writer[pa.Table]]
"""Where one export request goes: the ingest queue and the writer of its signal."""
Resolver = Callable[[grpc.ServicerContext, str], Target]
"""The call's context and signal ("traces" or "logs") -> its target; aborts the call
(``UNAUTHENTICATED``, ``PERMISSION_DENIED``) when it may not ingest."""


def token_resolver(
    queue: IngestQueue, writers: dict[str, Writer[pa.Table]], token: str | None
) -> Resolver:
    """One target per signal, behind one optional bearer token (`CREWSCOPE_INGEST_TOKEN`)."""

    def resolve(context: grpc.ServicerContext, signal: str) -> Target:
        _check_token(context, token)
        return queue, writers[signal]

    return resolve


def authorization(context: grpc.ServicerContext) -> str | None:
    """The call's ``authorization`` metadata value, if it has one."""
    value = dict(context.invocation_metadata()).get("authorization")
    return value if isinstance(value, str) else None


@dataclass(frozen=True, eq=False)
class _Ingest:
    """What the signal services share: where a call goes, and the commit wait."""

    _signal: _Signal
    _resolve: Resolver
    _timeout_s: float

    def Export(self, request: Message, context: grpc.ServicerContext) -> Message:  # gRPC's name
        """Check the caller, decode, store (or abort) and answer (with partial success)."""
        signal = self._signal
        queue, writer = self._resolve(context, signal.name)
        decoded = signal.decode(request)
        _store(
            queue, writer, decoded.table, decoded.accepted, decoded.rejected,
            signal.name, self._timeout_s, context,
        )  # fmt: skip
        return with_partial_success(
            signal.response(), signal.rejected_field, decoded.rejected, decoded.error
        )


class _TraceService(_Ingest, trace_service_pb2_grpc.TraceServiceServicer):
    pass


class _LogsService(_Ingest, logs_service_pb2_grpc.LogsServiceServicer):
    pass


_TRACES = _Signal(
    "traces", to_columns, trace_service_pb2.ExportTraceServiceResponse, "rejected_spans"
)
_LOGS = _Signal(
    "logs", to_log_rows, logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records"
)


def start_grpc_receiver(
    queue: IngestQueue,
    span_writer: Writer[pa.Table],
    address: str = "127.0.0.1:4317",
    *,
    token: str | None = None,
    max_message_bytes: int = 16 * 1024 * 1024,
    timeout_s: float = 30.0,
    log_writer: Writer[pa.Table] | None = None,
    resolve: Resolver | None = None,
) -> tuple[grpc.Server, int]:
    """Start the gRPC server (the LogsService too when `log_writer` is given); returns it and
    the bound port (``:0`` picks a free one). `resolve`, when given, decides where each call
    goes instead of `queue`, the writers and `token` (one server for several tenants)."""
    writers = {"traces": span_writer} | ({"logs": log_writer} if log_writer else {})
    route = resolve or token_resolver(queue, writers, token)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="crewscope-otlp-grpc"),
        options=[("grpc.max_receive_message_length", max_message_bytes)],
    )
    _add_trace_service(_TraceService(_TRACES, route, timeout_s), server)
    if log_writer is not None:
        _add_logs_service(_LogsService(_LOGS, route, timeout_s), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind the OTLP/gRPC receiver to {address}")
    server.start()
    logger.info("crewscope OTLP/gRPC receiver on %s", address.rsplit(":", 1)[0] + f":{port}")
    return server, port
