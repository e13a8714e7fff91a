"""OTLP/HTTP load for the overload benchmark: distinct spans per request, sent like a Collector.

`Bodies` encodes one batch of crew-shaped SDK spans (`bench_exporter.make_spans`) once, with
every trace and span id rewritten to carry a marker, and then makes each new request body by
writing a request number into the ids at the marker offsets (then gzip, as the Collector
sends): every accepted request adds new runs, not the same ids again.

`poster` runs in its own process: `threads` threads post while `go` is set, each like one
Collector queue consumer: a refused request (429/503) is sent again, same body, after its
``Retry-After`` (or 50 ms with ``honour_retry_after=False``); an accepted one is followed by a
new body. Counts go into shared `Counters`.
"""

from __future__ import annotations

import http.client
import threading
import zlib
from dataclasses import dataclass
from typing import Any

TRACE_MARK = bytes.fromhex("c53ea1770b9d")  # 6 bytes, then a 4-byte request number, 6 of index
SPAN_MARK = bytes.fromhex("fec1fd")  # 3 bytes, then a 3-byte request number, 2 of index
COUNTERS = (
    "accepted_spans", "accepted", "refused", "no_retry_after", "other", "reconnects", "inflight",
)  # fmt: skip


@dataclass
class Counters:
    """Shared between processes (multiprocessing Values), so the bench reads them live."""

    values: dict[str, Any]

    @classmethod
    def create(cls, ctx: Any) -> Counters:
        return cls({name: ctx.Value("q", 0) for name in COUNTERS})

    def add(self, name: str, n: int = 1) -> None:
        value = self.values[name]
        with value.get_lock():
            value.value += n

    def get(self, name: str) -> int:
        return int(self.values[name].value)

    def snapshot(self) -> dict[str, int]:
        return {name: self.get(name) for name in COUNTERS}


class Bodies:
    """Request bodies of `spans` spans each, with ids no other request has."""

    def __init__(self, spans: int) -> None:
        from bench_exporter import make_spans
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        message = encode_spans(make_spans(spans))
        traces: dict[bytes, bytes] = {}
        span_ids: dict[bytes, bytes] = {}

        def trace(old: bytes) -> bytes:
            return traces.setdefault(old, TRACE_MARK + bytes(4) + len(traces).to_bytes(6, "big"))

        def span(old: bytes) -> bytes:
            return span_ids.setdefault(old, SPAN_MARK + bytes(3) + len(span_ids).to_bytes(2, "big"))

        fields = 0
        for resource_spans in message.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for s in scope_spans.spans:
                    s.trace_id = trace(s.trace_id)
                    s.span_id = span(s.span_id)
                    fields += 1
                    if s.parent_span_id:
                        s.parent_span_id = span(s.parent_span_id)
                        fields += 1
        self.template = message.SerializeToString()
        self.spans = spans
        self.trace_at = _offsets(self.template, TRACE_MARK)
        self.span_at = _offsets(self.template, SPAN_MARK)
        if len(self.trace_at) != spans or len(self.span_at) != fields:  # a marker in other bytes
            raise RuntimeError("id marker found outside the ids; pick other marker bytes")

    def make(self, number: int) -> bytes:
        """Body number `number` (< 2**24), gzip-compressed."""
        body = bytearray(self.template)
        t, s = number.to_bytes(4, "big"), number.to_bytes(3, "big")
        for at in self.trace_at:
            body[at + 6 : at + 10] = t
        for at in self.span_at:
            body[at + 3 : at + 6] = s
        return zlib.compress(bytes(body), 1, wbits=16 + zlib.MAX_WBITS)


def _offsets(data: bytes, mark: bytes) -> list[int]:
    out, at = [], data.find(mark)
    while at >= 0:
        out.append(at)
        at = data.find(mark, at + len(mark))
    return out


def post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, str | None]:
    conn.request("POST", "/v1/traces", body, {
        "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})  # fmt: skip
    reply = conn.getresponse()
    reply.read()
    return reply.status, reply.getheader("Retry-After")


def poster(
    port: int, index: int, threads: int, spans: int, go: Any, stop: Any, counters: Counters,
    honour_retry_after: bool,
) -> None:  # fmt: skip
    bodies = Bodies(spans)
    numbers = iter(range(index << 18, (index + 1) << 18))  # distinct across processes
    lock = threading.Lock()

    def next_body() -> bytes:
        with lock:
            number = next(numbers)
        return bodies.make(number)

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        body = next_body()
        while not stop.is_set():
            if not go.wait(0.5):  # paused (an unloaded phase)
                continue
            counters.add("inflight")
            try:
                status, retry_after = post(conn, body)
            except (http.client.RemoteDisconnected, ConnectionError):
                conn.close()  # closed by the server (idle keep-alive): again, on a new one
                counters.add("reconnects")
                stop.wait(0.01)
                continue
            except OSError:
                conn.close()
                status, retry_after = 0, None
            finally:
                counters.add("inflight", -1)
            if status == 200:
                counters.add("accepted")
                counters.add("accepted_spans", spans)
                body = next_body()
            elif status in (429, 503):
                counters.add("refused")
                if retry_after is None:
                    counters.add("no_retry_after")
                wait = float(retry_after or 1) if honour_retry_after else 0.05
                stop.wait(wait)
            else:
                counters.add("other")
                stop.wait(0.05)
        conn.close()

    workers = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
