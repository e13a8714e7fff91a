"""Trace bodies decoded in worker processes: the path taken, errors, and a worker that dies."""

from __future__ import annotations

import os
import signal

import httpx
import psutil
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.helpers.otlp import PB, some_spans
from tests.helpers.served import API, wait_until


def _workers(pool) -> list[psutil.Process]:
    """The pool's live worker processes, checked to be spawned children of this process."""
    children = {p.pid: p for p in psutil.Process().children(recursive=True)}
    return [
        children[pid]
        for pid in pool.pids()
        if pid in children and "spawn_main" in " ".join(children[pid].cmdline())
    ]


def test_traces_are_decoded_in_a_worker_process(make_served) -> None:
    served = make_served()
    pool = served.ingest.decode_pool
    assert pool is not None and pool.workers >= 1  # default on a multi-core machine
    exporter = OTLPSpanExporter(endpoint=f"{served.url}/v1/traces")
    assert exporter.export(some_spans(5)) == SpanExportResult.SUCCESS
    assert served.span_count() == 5
    assert pool.fallbacks == 0  # decoded by a worker, not in the server
    assert wait_until(lambda: _workers(pool), what="a decode worker process")
    # undecodable bodies still get a 400 with the worker's reason
    r = httpx.post(f"{served.url}/v1/traces", content=b"\x0a\xff\xff", headers=PB)
    assert r.status_code == 400 and served.span_count() == 5


def test_a_dead_worker_is_replaced_and_nothing_is_lost(make_served) -> None:
    served = make_served()
    pool = served.ingest.decode_pool
    exporter = OTLPSpanExporter(endpoint=f"{served.url}/v1/traces")
    assert exporter.export(some_spans(3)) == SpanExportResult.SUCCESS
    before = {p.pid for p in wait_until(lambda: _workers(pool), what="decode workers")}
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    # the request that finds the pool broken is decoded in the server; the next use new workers
    for n in (4, 6):
        assert exporter.export(some_spans(n)) == SpanExportResult.SUCCESS
    assert served.span_count() == 3 + 4 + 6
    assert pool.fallbacks <= 1
    after = {p.pid for p in wait_until(lambda: _workers(pool), what="new decode workers")}
    assert after and not (after & before)
    assert exporter.export(some_spans(2)) == SpanExportResult.SUCCESS
    assert served.span_count() == 15
    health = httpx.get(f"{served.url}{API}/system/health").json()
    (decoders,) = [s for s in health["service_statuses"] if s["name"] == "ingest_decoders"]
    assert decoders["metrics"]["alive"] == pool.workers
    assert decoders["status"] == ("degraded" if pool.fallbacks else "healthy")


def test_zero_workers_decodes_in_the_server(make_served, monkeypatch) -> None:
    monkeypatch.setenv("CREWSCOPE_INGEST_DECODE_WORKERS", "0")
    served = make_served()
    assert served.ingest.decode_pool is None
    exporter = OTLPSpanExporter(endpoint=f"{served.url}/v1/traces")
    assert exporter.export(some_spans(3)) == SpanExportResult.SUCCESS
    assert served.span_count() == 3
