"""Live-feed messages: subscription filters, per-client bounded queues, and the conversion of
new span rows, log records and process metric points into messages (see `live` for the
poller)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crewscope.exporter.operations import LLM_OPERATIONS

logger = logging.getLogger(__name__)

EVENT_TYPES = (
    "llm_call", "tool_call", "agent_step", "task_completed", "run_completed", "memory",
    "flow_completed", "process", "log",
)  # fmt: skip
FILTER_KEYS = ("crew", "agent", "service", "pid", "events")


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
        # the run as GET /runs names it (top-level); spans that name no run: their trace
        "run_id": r["root_run_id"] or r["TraceId"],
        "crew_run_id": r["run_id"],
        "trace_id": r["TraceId"],
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


LOG_LEVELS = ((21, "fatal"), (17, "error"), (13, "warn"), (9, "info"), (1, "debug"))
"""The lowest OTLP SeverityNumber of each level (1..4 TRACE count as debug)."""


def log_message(r: dict[str, Any]) -> dict[str, Any]:
    """One ``log`` message from one ``live_logs.sql`` row."""
    number = int(r["SeverityNumber"] or 0)
    level = next((name for lowest, name in LOG_LEVELS if number >= lowest), None)
    return {
        "type": "log",
        "event": "log",
        "timestamp": int(r["t_ns"]) / 1e9,
        "service": r["ServiceName"],
        "crew": r["CrewName"],
        "agent": r["AgentName"],
        "task": r["TaskName"],
        "run_id": r["RunId"],
        "root_run_id": r["RootRunId"],
        "trace_id": r["TraceId"] or None,
        "span_id": r["SpanId"] or None,
        "severity": level,
        "severity_text": r["SeverityText"],
        "severity_number": number,
        "event_name": r["EventName"],
        "body": r["Body"],
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
