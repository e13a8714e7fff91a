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
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket

from crewscope.query_api.db import Database
from crewscope.query_api.sql_files import LLM_OPERATIONS, load_sql

logger = logging.getLogger(__name__)

EVENT_TYPES = (
    "llm_call", "tool_call", "agent_step", "task_completed", "run_completed", "memory",
    "flow_completed", "process",
)  # fmt: skip
FILTER_KEYS = ("crew", "agent", "service", "pid", "events")
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


class FilterError(ValueError):
    pass


@dataclass
class Filters:
    """A subscription: a message passes when every given field equals the message's."""

    crew: str | None = None
    agent: str | None = None
    service: str | None = None
    pid: int | None = None
    events: frozenset[str] | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Filters:
        unknown = set(raw) - set(FILTER_KEYS) - {"action"}
        if unknown:
            raise FilterError(f"unknown filter(s): {', '.join(sorted(unknown))}")
        out = cls()
        for key in ("crew", "agent", "service"):
            value = raw.get(key)
            if value is not None and not isinstance(value, str):
                raise FilterError(f"{key} must be a string")
            setattr(out, key, value or None)
        pid = raw.get("pid")
        if pid not in (None, ""):
            try:
                out.pid = int(pid)  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                raise FilterError("pid must be an integer") from exc
        events = raw.get("events")
        if events not in (None, "", []):
            names = events.split(",") if isinstance(events, str) else events
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise FilterError("events must be a list or comma-separated string")
            bad = {n.strip() for n in names} - set(EVENT_TYPES)
            if bad:
                raise FilterError(
                    f"unknown event type(s) {sorted(bad)}; use {', '.join(EVENT_TYPES)}"
                )
            out.events = frozenset(n.strip() for n in names)
        return out

    def matches(self, msg: dict[str, Any]) -> bool:
        if self.events is not None and msg.get("event") not in self.events:
            return False
        for key in ("crew", "agent", "service", "pid"):
            want = getattr(self, key)
            if want is not None and msg.get(key) != want:
                return False
        return True

    def as_dict(self) -> dict[str, Any]:
        return {
            "crew": self.crew, "agent": self.agent, "service": self.service, "pid": self.pid,
            "events": sorted(self.events) if self.events is not None else None,
        }  # fmt: skip


@dataclass(eq=False)
class Client:
    """One subscriber: a bounded queue drained by its own sender coroutine."""

    filters: Filters
    max_queue: int
    queue: deque[tuple[dict[str, Any], str]] = field(default_factory=deque)
    dropped: int = 0
    dropped_total: int = 0
    sent: int = 0
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, msg: dict[str, Any], text: str) -> None:
        """Queue a message (event loop thread only); never waits."""
        if not self.filters.matches(msg):
            return
        if len(self.queue) >= self.max_queue:
            self.queue.popleft()
            self.dropped += 1
            self.dropped_total += 1
        self.queue.append((msg, text))
        self.wakeup.set()

    def control(self, msg: dict[str, Any]) -> None:
        """A control message (ack, error): bypasses filters, still bounded."""
        if len(self.queue) >= self.max_queue:
            self.queue.popleft()
            self.dropped += 1
            self.dropped_total += 1
        self.queue.append((msg, json.dumps(msg)))
        self.wakeup.set()


@dataclass
class FeedStats:
    polls: int = 0
    poll_errors: int = 0
    last_error: str | None = None
    events_published: int = 0
    process_published: int = 0
    process_throttled: int = 0
    messages_dropped: int = 0


def _status(code: str | None) -> str:
    return {"Ok": "ok", "Error": "error"}.get(code or "", "unset")


def span_event(r: dict[str, Any]) -> dict[str, Any] | None:
    """One live message from one ``live_spans.sql`` row; None for spans of no interest."""
    op, name = r["GenAiOperation"], r["SpanName"] or ""
    data: dict[str, Any] = {}
    if op in LLM_OPERATIONS:
        event = "llm_call"
        inp, out = r["InputTokens"], r["OutputTokens"]
        data = {
            "model": r["Model"], "provider": r["ProviderName"], "input_tokens": inp,
            "output_tokens": out,
            "total_tokens": None if inp is None and out is None else (inp or 0) + (out or 0),
            "cost_usd": r["CostUsd"],
        }  # fmt: skip
    elif op == "execute_tool":
        event, data = "tool_call", {"tool": r["ToolName"]}
    elif op == "invoke_agent":
        event = "task_completed"
        data = {"input_tokens": r["InputTokens"], "output_tokens": r["OutputTokens"]}
    elif op == "invoke_workflow":
        event = "flow_completed" if r["flow"] else "run_completed"
        data = {"input_tokens": r["InputTokens"], "output_tokens": r["OutputTokens"]}
    elif name.startswith("step "):
        event = "agent_step"
        data = {"index": r["step_index"], "type": r["step_type"]}
    elif name.startswith("memory "):
        event, data = "memory", {"operation": r["memory_operation"]}
    else:
        return None
    start_ns, dur_ns = int(r["start_ns"]), int(r["duration_ns"] or 0)
    return {
        "type": "event",
        "event": event,
        "timestamp": (start_ns + dur_ns) / 1e9,
        "service": r["ServiceName"],
        "crew": r["CrewName"],
        "agent": r["AgentName"],
        "task": r["TaskName"],
        "run_id": r["TraceId"],
        "span_id": r["SpanId"],
        "parent_span_id": r["ParentSpanId"] or None,
        "name": name,
        "data": {
            **data,
            "status": _status(r["StatusCode"]),
            "error_type": r["ErrorType"],
            "error_message": r["StatusMessage"] or None,
            "start_time": start_ns / 1e9,
            "duration_ms": dur_ns / 1e6,
        },
    }


_PROCESS_FIELDS = {
    "process.cpu.utilization": "cpu_utilization",
    "process.memory.usage": "memory_usage_bytes",
    "process.memory.virtual": "memory_virtual_bytes",
    "process.thread.count": "threads",
    "process.unix.file_descriptor.count": "file_descriptors",
}


def process_messages(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One ``process`` message per (service, pid, collection time), oldest first."""
    samples: dict[tuple[Any, Any, int], dict[str, Any]] = {}
    for r in rows:
        key = (r["service"], r["pid"], int(r["t_ns"]))
        s = samples.get(key)
        if s is None:
            s = samples[key] = {"crew": None, "agent": None, "cpu_time_s": None}
        s["crew"] = s["crew"] or r["crew"]
        s["agent"] = s["agent"] or r["agent"]
        metric = r["metric"]
        if metric in _PROCESS_FIELDS:
            s[_PROCESS_FIELDS[metric]] = r["value"]
        elif metric == "process.cpu.time" and (r["temporality"] or 2) == 2:
            s["cpu_time_s"] = (s["cpu_time_s"] or 0.0) + r["value"]
    out = []
    for (service, pid, t_ns), s in sorted(samples.items(), key=lambda kv: kv[0][2]):
        util, rss = s.get("cpu_utilization"), s.get("memory_usage_bytes")
        threads, fds = s.get("threads"), s.get("file_descriptors")
        out.append(
            {
                "type": "process",
                "event": "process",
                "timestamp": t_ns / 1e9,
                "service": service,
                "pid": pid,
                "crew": s["crew"],
                "agent": s["agent"],
                "data": {
                    "pid": pid,
                    "cpu_utilization": util,
                    "cpu_percent": None if util is None else util * 100.0,
                    "cpu_time_s": s["cpu_time_s"],
                    "memory_mb": None if rss is None else rss / 2**20,
                    "memory_virtual_mb": None
                    if s.get("memory_virtual_bytes") is None
                    else s["memory_virtual_bytes"] / 2**20,
                    "threads": None if threads is None else int(threads),
                    "file_descriptors": None if fds is None else int(fds),
                },
            }
        )
    return out


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
                    load_sql("live_spans.sql"), {"lo": lo["spans"], "hi": hi["spans"]}
                )
                names = [d[0] for d in cursor.description or ()]
                spans = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            if want_rows and (hi["sum"] >= lo["sum"] or hi["gauge"] >= lo["gauge"]):
                cursor = cur.execute(
                    load_sql("live_process.sql"),
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
