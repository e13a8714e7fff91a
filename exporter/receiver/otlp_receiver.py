"""The OTLP receiver as one object: ingest queue, HTTP routes, optional gRPC server.

``crewscope serve`` (the process that owns the DuckDB file) creates one and mounts its
router; everything it acknowledges is committed to the same ``otel_traces`` (and
``otel_metrics_*``, ``otel_logs``) rows the in-process exporters write.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

import pyarrow as pa

from crewscope.exporter.read_priority import ReadsFirst
from crewscope.exporter.receiver.config import env_int, env_seconds
from crewscope.exporter.receiver.decode_pool import DecodePool, default_workers
from crewscope.exporter.receiver.ingest import IngestQueue, span_writer
from crewscope.exporter.receiver.otlp_http import ReceiverConfig, otlp_router
from crewscope.exporter.receiver.otlp_logs import decode_logs, log_writer, logs_response
from crewscope.exporter.receiver.otlp_metrics import decode_metrics, metric_writer, metrics_response
from crewscope.exporter.store import SpanStore
from crewscope.exporter.tenant import stamp_table

if TYPE_CHECKING:  # grpc is imported only when the gRPC receiver starts
    import grpc

    from crewscope.exporter.receiver.ingest import Writer

P = TypeVar("P")

CREWSCOPE_INGEST_TOKEN = "CREWSCOPE_INGEST_TOKEN"
"""Bearer token required on OTLP requests when set."""
CREWSCOPE_INGEST_MAX_BYTES = "CREWSCOPE_INGEST_MAX_BYTES"
"""Largest accepted OTLP/HTTP body in bytes, compressed or not (default 16 MiB)."""
CREWSCOPE_INGEST_QUEUE_SPANS = "CREWSCOPE_INGEST_QUEUE_SPANS"
"""Spans the ingest queue may hold before requests get 503 + Retry-After (default 200000)."""
CREWSCOPE_INGEST_MAX_INFLIGHT = "CREWSCOPE_INGEST_MAX_INFLIGHT"
"""OTLP/HTTP requests read and decoded at once before more get 503 (default 16)."""
CREWSCOPE_INGEST_COMMIT_TIMEOUT_S = "CREWSCOPE_INGEST_COMMIT_TIMEOUT_S"
"""Seconds a request waits for its batch's commit before answering 503 (default 30)."""


def config_from_env(
    *, max_body_bytes: int | None = None, max_queued_spans: int | None = None
) -> tuple[ReceiverConfig, int]:
    """The receiver's settings and queue size from the environment; arguments win over it.

    Raises `ConfigError` (a ValueError naming the variable, its value and what is expected)
    for a malformed or out-of-range value. The token is never part of a message.
    """
    defaults = ReceiverConfig()
    config = ReceiverConfig(
        max_body_bytes=env_int(
            CREWSCOPE_INGEST_MAX_BYTES, defaults.max_body_bytes, minimum=1,
            what="a whole number of bytes",
        ),
        token=os.environ.get(CREWSCOPE_INGEST_TOKEN) or None,
        commit_timeout_s=env_seconds(CREWSCOPE_INGEST_COMMIT_TIMEOUT_S, defaults.commit_timeout_s),
        max_inflight=env_int(
            CREWSCOPE_INGEST_MAX_INFLIGHT, defaults.max_inflight, minimum=1,
            what="a whole number of requests",
        ),
    )  # fmt: skip
    if max_body_bytes is not None:
        config = replace(config, max_body_bytes=max_body_bytes)
    queue_spans = max_queued_spans or env_int(
        CREWSCOPE_INGEST_QUEUE_SPANS, 200_000, minimum=1, what="a whole number of spans"
    )
    return config, queue_spans


class OtlpReceiver:
    """Owns the queue and writer thread; ``router`` is mounted on the FastAPI app.

    With a `tenant`, every row written is stamped with it (`crewscope.exporter.tenant`),
    whatever the client sent. A `decode_pool` given is shared (the caller closes it);
    otherwise the receiver starts its own of `decode_workers` processes.
    """

    def __init__(
        self,
        store: SpanStore,
        config: ReceiverConfig | None = None,
        max_queued_spans: int = 200_000,
        decode_workers: int | None = None,
        *,
        tenant: str | None = None,
        decode_pool: DecodePool | None = None,
    ) -> None:
        self.store = store
        self.config = config or ReceiverConfig()
        self.tenant = tenant
        self.queue = IngestQueue(max_queued_spans=max_queued_spans)
        self.reads: ReadsFirst | None = getattr(store, "reads", None)  # a DuckDB store's queries
        if self.reads is not None:
            self.queue.give_way = self.reads.wait_turn  # they go first while the queue sheds load
            self.reads.shedding = lambda: self.queue.shedding
        self.span_writer = self._stamped(span_writer(store.append), _stamp_table)
        self.log_writer = self._stamped(log_writer(store), _stamp_table)
        self._own_pool = decode_pool is None
        if decode_pool is None:
            workers = default_workers() if decode_workers is None else decode_workers
            decode_pool = DecodePool(workers) if workers > 0 else None
        self.decode_pool = decode_pool
        self.router = otlp_router(
            self.queue,
            self.span_writer,
            self.config,
            metrics=(
                decode_metrics,
                metrics_response,
                self._stamped(metric_writer(store), _stamp_tables),
            ),  # fmt: skip
            decode_pool=self.decode_pool,
            logs=(decode_logs, logs_response, self.log_writer),
        )
        self._grpc: grpc.Server | None = None
        self.grpc_port: int | None = None

    def _stamped(self, writer: Writer[P], stamp: _Stamp[P]) -> Writer[P]:
        tenant = self.tenant
        if tenant is None:
            return writer

        def write(payloads: list[P]) -> None:
            writer([stamp(payload, tenant) for payload in payloads])

        return write

    def start_grpc(self, address: str) -> int:
        from crewscope.exporter.receiver.otlp_grpc import start_grpc_receiver

        self._grpc, self.grpc_port = start_grpc_receiver(
            self.queue, self.span_writer, address, token=self.config.token,
            max_message_bytes=self.config.max_body_bytes, log_writer=self.log_writer,
        )  # fmt: skip
        return self.grpc_port

    def stats(self) -> dict[str, object]:
        """A JSON-ready snapshot of the queue and decode workers."""
        pool = self.decode_pool
        return {"queue_depth": self.queue.depth, "queue_capacity": self.queue.max_queued_spans,
                "decode_workers": pool.workers if pool else 0,
                "decode_fallbacks": pool.fallbacks if pool else 0,
                **self.queue.stats.as_dict()}  # fmt: skip

    def close(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=2).wait(5)
            self._grpc = None
        self.queue.close()
        if self.decode_pool is not None and self._own_pool:
            self.decode_pool.close()


def _stamp_table(table: pa.Table, tenant: str) -> pa.Table:
    return stamp_table(table, tenant)


def _stamp_tables(tables: dict[str, pa.Table], tenant: str) -> dict[str, pa.Table]:
    return {name: stamp_table(table, tenant) for name, table in tables.items()}


if TYPE_CHECKING:
    from collections.abc import Callable

    _Stamp = Callable[[P, str], P]
