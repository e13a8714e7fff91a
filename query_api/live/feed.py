"""The live feed behind ``/api/v1/monitoring/live``: new spans and process samples, fanned out.

Where events come from: one background task polls the database every ``poll_interval_s``
(250 ms) for what landed since the last poll, whatever path wrote it, through the cursor
strategy of its engine (`live.cursors`). On DuckDB only one process may open the file, so
everything lands in this server's file (the OTLP receiver, an in-process exporter sharing
the store, crewscope's own HTTP spans), and rowid watermarks say exactly what is new: a poll
is four cheap ``max(rowid)`` lookups when nothing landed, the data is read only while
clients listen. On ClickHouse any number of Collectors and serve processes write; views
stamp what the feed needs with its arrival time, and the cursor reads a short lag window
behind the newest arrival, skipping the rows it has published; nothing is read while no
client listens, and the first client after none waits for one read of the window
(`Cursor.resume`) before it is added.

Spans land when they end, so events are completions: ``llm_call`` (with tokens and cost),
``tool_call``, ``agent_step``, ``task_completed``, ``run_completed``, ``memory``,
``flow_completed``; log records become ``log`` messages (``type`` and ``event`` ``log``:
severity, body, crew/agent/task, run and trace/span ids) at their own time. Within one
poll they are ordered by end time, so a run's task events come before its
``run_completed``. Process stats (``process.*`` metric points) become one
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

from crewscope.query_api.live.cursors import Cursor, cursor_for
from crewscope.query_api.live.messages import (
    Client,
    FeedStats,
    FilterError,
    Filters,
    log_message,
    process_messages,
    span_event,
)
from crewscope.query_api.store.handle import DatabaseHandle as Database

logger = logging.getLogger(__name__)

YIELD_EVERY = 200  # messages published between yields to the event loop (senders drain)
MAX_TRACKED_PROCESSES = 10_000  # processes whose newest sample is remembered


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
        self.cursor: Cursor = cursor_for(db.engine)  # what is new: rowids, or arrival times
        self._last_process: dict[tuple[Any, Any], float] = {}
        self._pending_process: dict[tuple[Any, Any], dict[str, Any]] = {}
        self._last_sample: dict[tuple[Any, Any], dict[str, Any]] = {}  # newest per process
        self._reading = asyncio.Lock()  # one thread at a time uses the cursor

    # --- polling -----------------------------------------------------------------------

    def _read(
        self, want_rows: bool
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """New span, process and log rows since the last poll (runs in a worker thread)."""
        new = self.cursor.read(self.db, want_rows)
        return new.spans, new.process, new.logs

    async def poll_once(self) -> None:
        async with self._reading:
            spans, process, logs = await asyncio.to_thread(self._read, bool(self.clients))
        self.stats.polls += 1
        events = [e for e in map(span_event, spans) if e is not None]
        events.extend(map(log_message, logs))
        # within one poll, completion order (a run ends after its tasks); read order breaks ties
        order = {id(e): i for i, e in enumerate(events)}
        events.sort(key=lambda e: (e["timestamp"], order[id(e)]))
        for i, msg in enumerate(events, 1):
            self.publish(msg)
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        self.stats.events_published += len(events)
        for msg in process_messages(process):
            key = (msg["service"], msg["pid"])
            msg = self._complete(key, msg)
            if key in self._pending_process:
                self.stats.process_throttled += 1
            self._pending_process[key] = msg
        self._flush_process()

    def _complete(self, key: tuple[Any, Any], msg: dict[str, Any]) -> dict[str, Any]:
        """`msg` with the values of its sample that an earlier poll already read: one
        collection's points land in several tables (sums, gauges), which a poll may see at
        different moments, so a sample can arrive in parts."""
        seen = self._last_sample.get(key)
        if seen is not None and seen["timestamp"] == msg["timestamp"]:
            data = {k: v for k, v in seen["data"].items() if v is not None}
            data.update({k: v for k, v in msg["data"].items() if v is not None})
            msg = {**msg, "data": {**msg["data"], **data}}
            msg["crew"] = msg["crew"] or seen["crew"]
            msg["agent"] = msg["agent"] or seen["agent"]
        self._last_sample.pop(key, None)  # newest last: the oldest process goes first
        self._last_sample[key] = msg
        if len(self._last_sample) > MAX_TRACKED_PROCESSES:
            del self._last_sample[next(iter(self._last_sample))]
        return msg

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
            except Exception as exc:
                self.stats.poll_errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                logger.debug("live feed poll failed", exc_info=True)
            await asyncio.sleep(self.poll_interval_s)

    # --- clients -----------------------------------------------------------------------

    async def serve(self, ws: WebSocket, filters: Filters) -> None:
        """Run one accepted WebSocket until it closes."""
        client = Client(filters, self.client_queue_size)
        async with self._reading:
            # under the lock, with the add: two first clients at once resume once, and no
            # poll runs between the resume and the add
            if not self.clients:
                try:
                    await asyncio.to_thread(self.cursor.resume, self.db)
                except Exception as exc:  # the next poll finds the end instead
                    self.stats.poll_errors += 1
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                    logger.debug("live feed resume failed", exc_info=True)
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
