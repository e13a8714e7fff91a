"""Fixtures for the query API: a generated span database and clients over any db path.

`seeded` builds a DuckDB file from generated runs (see spangen.py) and records what was
generated, so tests compare the API with an independent computation. `make_client(path)`
serves any database file, e.g. one written by the real exporter from instrumented runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from crewscope.query_api import create_app
from crewscope.query_api.dates import utcnow
from tests.query_api.spangen import RunBuilder, TaskSpec, build_run, http_span, insert_spans

API = "/api/v1/monitoring"
AGENTS = ("Researcher", "Writer", "Analyst")
CREWS = ("research_crew", "trading_crew")
SCHEMA = Path(__file__).resolve().parents[2] / "exporter" / "sql" / "schema.sql"


@dataclass
class Seeded:
    """A generated database and what went into it."""

    path: str
    now: datetime
    runs: list[RunBuilder] = field(default_factory=list)
    run_specs: list[tuple[str, datetime, list[TaskSpec]]] = field(default_factory=list)
    http: list[tuple[str, int, float]] = field(default_factory=list)

    def tasks(self, agent: str | None = None, since: datetime | None = None) -> list[TaskSpec]:
        return [
            spec
            for _, start, specs in self.run_specs
            for spec in specs
            if (agent is None or spec.agent == agent) and (since is None or start >= since)
        ]


def new_db(path: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path)
    con.execute(SCHEMA.read_text("utf-8"))
    return con


def seed_database(path: str, now: datetime, n_runs: int = 40, seed: int = 7) -> Seeded:
    """`n_runs` runs over the last ~10 days (newest 2 h ago), plus HTTP server spans."""
    rng = random.Random(seed)
    out = Seeded(path=path, now=now)
    rows = []
    for i in range(n_runs):
        crew = CREWS[i % 2]
        start = now - timedelta(hours=2 + i * 6, minutes=rng.randint(0, 30))
        specs = []
        for j, agent in enumerate(AGENTS[: 2 + i % 2]):
            specs.append(
                TaskSpec(
                    agent=agent,
                    task=f"task_{j}",
                    duration_ms=round(rng.uniform(200, 5000), 3),
                    failed=(agent == "Analyst" and i % 3 == 0)
                    or (agent == "Writer" and i % 7 == 0),
                    error="TimeoutError: provider timed out" if i % 2 else "ValueError: bad input",
                    steps=1 + i % 3,
                    tool_fails=(i % 5 == 0),
                    model="mystery-model" if i % 10 == 9 else "gpt-4o-mini",
                    cost=None if i % 10 == 9 else 0.0015,
                    input_tokens=100 + i,
                    output_tokens=10 + j,
                )
            )
        run = build_run(rng, crew, start, specs, inputs={"topic": f"t{i}"}, memory_agent="Writer")
        out.runs.append(run)
        out.run_specs.append((crew, start, specs))
        rows += run.rows
    for k in range(60):
        route = "/items/{id}" if k % 3 else "/health"
        status = 500 if k % 17 == 0 else (404 if k % 5 == 0 else 200)
        ms = round(rng.uniform(1, 80), 3)
        rows.append(http_span(rng, route, status, now - timedelta(minutes=5 + k), ms))
        out.http.append((route, status, ms))
    with new_db(path) as con:
        insert_spans(con, rows)
    return out


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    path = tmp_path_factory.mktemp("qa") / "seeded.duckdb"
    return seed_database(str(path), utcnow())


@pytest.fixture(scope="module")
def make_client() -> Iterator[Callable[[str], TestClient]]:
    """Factory: a started TestClient over a database file (background jobs off)."""
    clients: list[TestClient] = []

    def make(path: str) -> TestClient:
        app = create_app(path, rollup_interval_s=0, retention_days=None)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def client(seeded: Seeded, make_client: Callable[[str], TestClient]) -> TestClient:
    c = make_client(seeded.path)
    assert c.post(f"{API}/rollups/refresh").status_code == 200
    return c
