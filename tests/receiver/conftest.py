"""A real uvicorn server with the OTLP receiver over a real DuckDB file."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    db_path: str
    app: Any
    ingest: Any

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self.ingest.store.cursor()
        try:
            return cur.execute(sql, params or []).fetchall()
        finally:
            cur.close()


def serve_app(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return server, thread, port


@pytest.fixture
def make_served(tmp_path: Path) -> Iterator[Any]:
    from crewscope.query_api.main import create_app

    started: list[tuple[uvicorn.Server, threading.Thread]] = []

    def make(**kwargs: Any) -> Served:
        db = str(tmp_path / f"served{len(started)}.duckdb")
        kwargs.setdefault("rollup_interval_s", 0)
        kwargs.setdefault("retention_days", None)
        app = create_app(db, **kwargs)
        server, thread, port = serve_app(app)
        started.append((server, thread))
        return Served(f"http://127.0.0.1:{port}", db, app, app.state.receiver)

    yield make
    for server, thread in started:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def served(make_served: Any) -> Served:
    return make_served()
