"""One real `crewscope serve` app for the input tests: create_app over a DuckDB file, its OTLP
receiver (with its decode worker process, as configured by default) and query API, driven
through Starlette's TestClient (no socket)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from crewscope.query_api import create_app
from tests.helpers.served import API

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Hypothesis settings of every property test here (each test sets max_examples)."""

_ids = itertools.count(1)


def fresh_trace_id() -> bytes:
    """A trace id no other example used: derandomized runs repeat their drawn values."""
    return b"\xc5" + next(_ids).to_bytes(15, "big")


@dataclass
class Receiver:
    client: TestClient
    app: Any

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self.app.state.db.store.cursor()
        try:
            return cur.execute(sql, params or []).fetchall()
        finally:
            cur.close()

    def count(self, table: str) -> int:
        return int(self.rows(f'SELECT count(*) FROM "{table}"')[0][0])

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"{API}{path}", params=params)


@pytest.fixture(scope="package")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    path = tmp_path_factory.mktemp("inputs") / "inputs.duckdb"
    app = create_app(str(path), rollup_interval_s=0, retention_days=None, self_telemetry=False)
    # raise_server_exceptions=False: a 5xx must reach the assertions as a response
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Receiver(client, app)
