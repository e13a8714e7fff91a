"""A loopback OTLP/HTTP endpoint that keeps every request as it arrived, and the text of a
DuckDB file's stored rows: what a test greps for what must not have been recorded."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb


@dataclass(frozen=True)
class Received:
    path: str  # /v1/traces, /v1/logs, /v1/metrics
    headers: dict[str, str]
    body: bytes  # the protobuf request, decompressed


class OtlpSink(ThreadingHTTPServer):
    """Answers every OTLP/HTTP export with 200 (an empty response message is a valid
    response of each signal) and keeps the request."""

    daemon_threads = True

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _SinkHandler)
        self._thread = threading.Thread(target=self.serve_forever, name="otlp-sink", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def bodies(self, path: str | None = None) -> list[bytes]:
        with self.lock:
            return [r.body for r in self.requests if path is None or r.path == path]

    def __enter__(self) -> OtlpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _SinkHandler(BaseHTTPRequestHandler):
    server: OtlpSink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        with self.server.lock:
            self.server.requests.append(received)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


def stored_rows(db_path: str | Path, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` (all columns, maps and event lists included) as dicts."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        cursor = con.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def file_bytes(db_path: str | Path) -> Iterator[tuple[str, bytes]]:
    """The DuckDB file and its write-ahead log (if any), as bytes."""
    for path in (Path(db_path), Path(f"{db_path}.wal")):
        if path.exists():
            yield path.name, path.read_bytes()
