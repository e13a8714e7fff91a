"""The live feed behind ``/api/v1/monitoring/live``: new spans and process samples, fanned out.

Where events come from: only one process may open the DuckDB file, so everything lands in
this server's file, either through the OTLP receiver (other processes) or written by this
process itself (an in-process exporter sharing the store, crewscope's own HTTP spans). One
background task therefore polls the tables by rowid watermark every ``poll_interval_s``
(250 ms): DuckDB gives appended rows increasing rowids and a snapshot always sees a rowid
prefix of committed appends, so ``rowid BETWEEN watermark AND max(rowid)`` is exactly what is
new, whatever path wrote it (the same technique as `projections`). A poll is three cheap
``max(rowid)`` lookups when nothing landed; the data is read only while clients listen.

Spans land when they end, so events are completions: ``llm_call`` (with tokens and cost),
``tool_call``, ``agent_step``, ``task_completed``, ``run_completed``, ``memory``,
``flow_completed``. Within one poll they are ordered by end time, so a run's task events
come before its ``run_completed``. Process stats (``process.*`` metric points) become one
``process`` message per (service, PID) and collection, throttled to at most one per
``process_interval_s`` (1 s) per process: a newer sample replaces a pending one.

Fan-out never waits for a client: each has a bounded queue; when it is full the oldest
message is dropped and counted, and the client gets ``{"type": "dropped", "count": n}``
before its next message. A client whose send does not complete in ``send_timeout_s`` is
disconnected. The poller and the ingest path share nothing but the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from fastapi import WebSocket

from crewscope.query_api.live.messages import (
    Client,
    FeedStats,
    FilterError,
    Filters,
    process_messages,
    span_event,
)
from crewscope.query_api.store.database import Database
from crewscope.query_api.store.sql import load_sql

logger = logging.getLogger(__name__)

MAX_ROWS_PER_POLL = 5_000
YIELD_EVERY = 200  # messages published between yields to the event loop (senders drain)
MAX_ROWID = {
    "spans": "SELECT max(rowid) FROM otel_traces WHERE rowid >= ?",
    "sum": "SELECT max(rowid) FROM otel_metrics_sum WHERE rowid >= ?",
    "gauge": "SELECT max(rowid) FROM otel_metrics_gauge WHERE rowid >= ?",
}
MAX_ROWID_ALL = {
    "spans": "SELECT max(rowid) FROM otel_traces",
    "sum": "SELECT max(rowid) FROM otel_metrics_sum",
    "gauge": "SELECT max(rowid) FROM otel_metrics_gauge",
}


class LiveFeed:
    """Polls the database for new rows and fans them out to subscribed clients."""

    def __init__(
        self,
        db: Database,
        *,
        poll_interval_s: float = 0.25,
        process_interval_s: float = 1.0,
        client_queue_size: int = 10_000,
        send_timeout_s: float = 10.0,
    ) -> None:
        self.db = db
        self.poll_interval_s = poll_interval_s
        self.process_interval_s = process_interval_s
        self.client_queue_size = client_queue_size
        self.send_timeout_s = send_timeout_s
        self.clients: set[Client] = set()
        self.stats = FeedStats()
        self._marks: dict[str, int] | None = None  # next rowid to read, per table
        self._last_process: dict[tuple[Any, Any], float] = {}
        self._pending_process: dict[tuple[Any, Any], dict[str, Any]] = {}

    # --- polling -----------------------------------------------------------------------

    def _read(self, want_rows: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """New span and process rows since the watermarks (runs in a worker thread)."""
        cur = self.db.cursor()
        try:
            if self._marks is None:  # start at the end: the feed shows what lands from now
                self._marks = {k: self._max_all(cur, k) + 1 for k in MAX_ROWID_ALL}
            his = {}
            for key, sql in MAX_ROWID.items():
                row = cur.execute(sql, [self._marks[key]]).fetchone()
                hi = row[0] if row and row[0] is not None else None
                if hi is None and self._max_all(cur, key) < self._marks[key] - 1:
                    # rowids were renumbered (retention + checkpoint): restart at the end
                    self._marks[key] = self._max_all(cur, key) + 1
                his[key] = hi
            spans: list[dict[str, Any]] = []
            process: list[dict[str, Any]] = []
            lo = dict(self._marks)
            hi = {
                k: min(v, lo[k] + MAX_ROWS_PER_POLL - 1) if v is not None else lo[k] - 1
                for k, v in his.items()
            }
            if want_rows and hi["spans"] >= lo["spans"]:
                cursor = cur.execute(
                    load_sql("reads/live_spans.sql"), {"lo": lo["spans"], "hi": hi["spans"]}
                )
                names = [d[0] for d in cursor.description or ()]
                spans = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            if want_rows and (hi["sum"] >= lo["sum"] or hi["gauge"] >= lo["gauge"]):
                cursor = cur.execute(
                    load_sql("reads/live_process.sql"),
                    {"lo_sum": lo["sum"], "hi_sum": hi["sum"],
                     "lo_gauge": lo["gauge"], "hi_gauge": hi["gauge"]},
                )  # fmt: skip
                names = [d[0] for d in cursor.description or ()]
                process = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            for k in hi:
                self._marks[k] = max(self._marks[k], hi[k] + 1)
            return spans, process
        finally:
            cur.close()

    @staticmethod
    def _max_all(cur: Any, key: str) -> int:
        row = cur.execute(MAX_ROWID_ALL[key]).fetchone()
        return -1 if not row or row[0] is None else int(row[0])

    async def poll_once(self) -> None:
        spans, process = await asyncio.to_thread(self._read, bool(self.clients))
        self.stats.polls += 1
        events = [e for e in map(span_event, spans) if e is not None]
        # within one poll, completion order (a run ends after its tasks); rowid breaks ties
        order = {id(e): i for i, e in enumerate(events)}
        events.sort(key=lambda e: (e["timestamp"], order[id(e)]))
        for i, msg in enumerate(events, 1):
            self.publish(msg)
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        self.stats.events_published += len(events)
        for msg in process_messages(process):
            key = (msg["service"], msg["pid"])
            if key in self._pending_process:
                self.stats.process_throttled += 1
            self._pending_process[key] = msg
        self._flush_process()

    def _flush_process(self) -> None:
        now = time.monotonic()
        for key, msg in list(self._pending_process.items()):
            if now - self._last_process.get(key, -1e9) >= self.process_interval_s:
                del self._pending_process[key]
                self._last_process[key] = now
                self.publish(msg)
                self.stats.process_published += 1

    def publish(self, msg: dict[str, Any]) -> None:
        text = json.dumps(msg, default=str)
        for client in list(self.clients):
            before = client.dropped_total
            client.offer(msg, text)
            self.stats.messages_dropped += client.dropped_total - before

    async def run(self) -> None:
        """The background task (started by the app's lifespan)."""
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep polling; report in stats
                self.stats.poll_errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                logger.debug("live feed poll failed", exc_info=True)
            await asyncio.sleep(self.poll_interval_s)

    # --- clients -----------------------------------------------------------------------

    async def serve(self, ws: WebSocket, filters: Filters) -> None:
        """Run one accepted WebSocket until it closes."""
        client = Client(filters, self.client_queue_size)
        self.clients.add(client)
        client.control({"type": "subscribed", "filters": filters.as_dict()})
        sender = asyncio.create_task(self._send_loop(ws, client))
        receiver = asyncio.create_task(self._receive_loop(ws, client))
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.clients.discard(client)
            for task in (sender, receiver):
                task.cancel()
            for task in (sender, receiver):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await ws.close()

    async def _send_loop(self, ws: WebSocket, client: Client) -> None:
        while True:
            await client.wakeup.wait()
            client.wakeup.clear()
            while client.queue:
                if client.dropped:
                    note = {"type": "dropped", "count": client.dropped}
                    client.dropped = 0
                    await asyncio.wait_for(ws.send_text(json.dumps(note)), self.send_timeout_s)
                _, text = client.queue.popleft()
                await asyncio.wait_for(ws.send_text(text), self.send_timeout_s)
                client.sent += 1

    async def _receive_loop(self, ws: WebSocket, client: Client) -> None:
        """Subscription changes: ``{"action": "subscribe", "crew": ..., "agent": ...}``."""
        while True:
            raw = await ws.receive_text()
            try:
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise FilterError("send a JSON object")
                action = body.get("action", "subscribe")
                if action == "ping":
                    client.control({"type": "pong", "timestamp": time.time()})
                    continue
                if action != "subscribe":
                    raise FilterError(f"unknown action {action!r}: use subscribe or ping")
                client.filters = Filters.parse(body)
            except (json.JSONDecodeError, FilterError) as exc:
                client.control({"type": "error", "message": str(exc)})
                continue
            client.control({"type": "subscribed", "filters": client.filters.as_dict()})
