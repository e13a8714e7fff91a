"""Fixtures for the query API: a generated span database and clients over any db path.

`seeded` builds a DuckDB file from generated runs (tests/helpers/seed.py) and records what
was generated, so tests compare the API with an independent computation. `make_client(path)`
serves any database file, e.g. one written by the real exporter from instrumented runs.
`otlp_crew` and `burner` feed a served app (`served`, tests/conftest.py) real runs and
real processes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from crewscope.query_api import create_app
from crewscope.query_api.dates import utcnow
from tests.helpers.processes import start_burner
from tests.helpers.seed import Seeded, seed_database
from tests.helpers.served import API, Served


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


@pytest.fixture
def burner() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """start(mb, seconds) -> a child holding `mb` MiB and spinning one CPU; killed after."""
    procs: list[subprocess.Popen[str]] = []

    def start(mb: int = 64, seconds: float = 30.0) -> subprocess.Popen[str]:
        proc = start_burner(mb, seconds)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(5)


@pytest.fixture
def otlp_crew(served: Served, fake_llm: Any) -> Iterator[Callable[[str], list[Any]]]:
    """run(name) kicks off the demo crew, its spans sent to the server over OTLP/HTTP."""
    from crewscope.demo.crew import build_crew, make_llm
    from crewscope.instrumentation import CrewAIInstrumentor

    provider = TracerProvider(resource=Resource.create({"service.name": "live-crew"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{served.url}/v1/traces")))
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)

    def run(name: str) -> list[Any]:
        fake_llm.reset()
        build_crew(make_llm(fake_llm.base_url, max_retries=0), name=name).kickoff(
            inputs={"topic": name}
        )
        return list(fake_llm.calls)

    try:
        yield run
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
