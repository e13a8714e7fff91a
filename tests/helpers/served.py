"""A real `crewscope serve` app under uvicorn on a free loopback port, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

API = "/api/v1/monitoring"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Any, timeout: float = 20.0, interval: float = 0.1, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


@dataclass
class Served:
    url: str
    port: int
    db_path: str
    app: Any

    @property
    def ingest(self) -> Any:
        """The app's OTLP receiver (queue, stats, store)."""
        return self.app.state.receiver

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{API}/live"

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self.app.state.db.store.cursor()
        try:
            return cur.execute(sql, params or []).fetchall()
        finally:
            cur.close()

    def span_count(self) -> int:
        """How many spans the server's file holds."""
        return int(self.rows("SELECT count(*) FROM otel_traces")[0][0])


def serve_app(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, what="uvicorn start")
    return server, thread, port


def served_factory(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Body of a `make_served` fixture: make(**create_app_kwargs) -> Served; all stopped after."""
    from crewscope.query_api.app import create_app

    started: list[tuple[uvicorn.Server, threading.Thread]] = []

    def make(**kwargs: Any) -> Served:
        db = str(tmp_path / f"served{len(started)}.duckdb")
        kwargs.setdefault("rollup_interval_s", 0)
        kwargs.setdefault("retention_days", None)
        app = create_app(db, **kwargs)
        server, thread, port = serve_app(app)
        started.append((server, thread))
        return Served(f"http://127.0.0.1:{port}", port, db, app)

    yield make
    for server, thread in started:
        server.should_exit = True
        thread.join(15)
