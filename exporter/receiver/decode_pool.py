"""Decoding OTLP trace requests in worker processes, so the receiver uses more than one core.

Decoding (protobuf -> Python values -> Arrow) is pure Python and holds the GIL for
~17 µs per span; the server process must also parse HTTP and append to DuckDB. With a pool,
workers decode and hand back the Arrow table as an IPC stream (one copy, no per-span
work), and the server process keeps only the HTTP and the DuckDB append. The server stays
the one process that holds the DuckDB file.

``CREWSCOPE_INGEST_DECODE_WORKERS``: number of worker processes (default: CPUs - 1, at
most 4; 0 decodes in the server's thread pool, as before). A crashed worker is replaced
and the request that hit it is decoded in the server instead, so no data is lost.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pyarrow as pa
from fastapi.concurrency import run_in_threadpool

from crewscope.exporter.receiver.config import env_int
from crewscope.exporter.receiver.otlp_decode import DecodedTable, decode_traces

logger = logging.getLogger(__name__)

CREWSCOPE_INGEST_DECODE_WORKERS = "CREWSCOPE_INGEST_DECODE_WORKERS"
PARENT_POLL_S = 0.25
"""How often a worker checks that the server that started it is still alive."""
WORKER_NICE = 10
"""Workers run at this lower CPU priority: with few cores, the server's requests (queries,
the HTTP handling that sheds load) go first, and decoding takes the cycles left over."""


def default_workers() -> int:
    """``CREWSCOPE_INGEST_DECODE_WORKERS``, else CPUs - 1 (at most 4); raises `ConfigError`."""
    auto = max(0, min(4, (os.cpu_count() or 1) - 1))
    return env_int(
        CREWSCOPE_INGEST_DECODE_WORKERS, auto, minimum=0, what="a whole number of processes"
    )


def _init_worker(parent_pid: int) -> None:
    """Worker initializer: a lower CPU priority (`WORKER_NICE`), and exit once the server
    process is gone."""
    try:
        os.nice(WORKER_NICE)
    except OSError:  # not permitted here: decode at the server's priority
        logger.debug("crewscope: decode worker keeps its CPU priority", exc_info=True)
    _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid: int) -> None:
    """Exit once the server process is gone.

    A server killed with SIGKILL (or OOM-killed) cannot shut its pool down, and a worker
    waiting for work never sees the pool's pipe close (it holds that pipe's write end
    itself), so without this it would live on, orphaned, ~100 MB each, after every crash.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="crewscope-parent-watch", daemon=True).start()


def _warm() -> bool:
    """Runs once per worker: import and load everything the first request would."""
    from crewscope.exporter.pricing import preload

    preload()
    return True


def _decode_to_ipc(body: bytes, content_type: str) -> tuple[bytes, int, int, str | None]:
    decoded = decode_traces(body, content_type)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, decoded.table.schema) as out:
        out.write_table(decoded.table)
    return sink.getvalue().to_pybytes(), decoded.accepted, decoded.rejected, decoded.error


def _from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


class DecodePool:
    """``await pool.decode(body, content_type)`` -> `DecodedTable`, decoded in a worker.

    Raises `BadPayload` (from the worker) for undecodable bodies, like `decode_traces`.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.fallbacks = 0  # requests decoded in the server because a worker died
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False
        self._start()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork a process with threads
        pool = ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
        )
        for _ in range(self.workers):
            pool.submit(_warm)  # start the workers now, not on the first request
        self._pool = pool

    async def decode(self, body: bytes, content_type: str) -> DecodedTable:
        pool = self._pool
        if pool is not None:
            try:
                future = pool.submit(_decode_to_ipc, body, content_type)
                data, accepted, rejected, error = await asyncio.wrap_future(future)
                return DecodedTable(_from_ipc(data), accepted, rejected, error)
            except BrokenProcessPool as exc:
                logger.warning("crewscope: an OTLP decode worker died (%s); restarting", exc)
                self._restart(pool)
            except RuntimeError as exc:  # "cannot schedule new futures after shutdown"
                if not self._closed:
                    raise
                logger.debug("decode pool closed: decoding in the server", exc_info=exc)
        self.fallbacks += 1
        return await run_in_threadpool(decode_traces, body, content_type)

    def pids(self) -> list[int]:
        """Process ids of the live workers (for health reports and tests)."""
        pool = self._pool
        # ProcessPoolExecutor has no public view of its workers; None once shut down.
        processes = (pool._processes if pool is not None else None) or {}
        return [pid for pid, proc in list(processes.items()) if proc.is_alive()]

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not broken or self._closed:
                return
            broken.shutdown(wait=False, cancel_futures=True)
            self._start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
