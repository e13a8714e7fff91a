"""Both engines over the same real runs: a DuckDB file written by the in-process exporter
from real crews and flows (the fake LLM), and a ClickHouse database (embedded chDB) holding
the same spans, written in the Collector exporter's columns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from crewscope.demo.crew import build_crew, make_llm, word_counter_tool
from crewscope.demo.flow import build_flow
from crewscope.exporter import DuckDBSpanExporter
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.query_api import create_app
from tests.helpers.engines import chdb_store, copy_spans


@dataclass
class Engines:
    duckdb: TestClient
    clickhouse: TestClient
    llm_calls: list[Any]
    spans: int


@pytest.fixture(scope="package")
def engines(fake_llm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    tmp = tmp_path_factory.mktemp("engines")
    path = str(tmp / "runs.duckdb")
    exporter = DuckDBSpanExporter(path)
    provider = TracerProvider(resource=Resource.create({"service.name": "engine-crews"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    fake_llm.reset()
    try:
        llm = make_llm(fake_llm.base_url, max_retries=0)
        build_crew(llm, name="research_crew").kickoff(inputs={"topic": "a"})
        build_crew(llm, name="flaky_crew", tool=word_counter_tool(fail=True)).kickoff(
            inputs={"topic": "b"}
        )
        build_flow(llm).kickoff()
        calls = list(fake_llm.calls)
        fake_llm.fail_next(100, 500)
        with pytest.raises(Exception):  # noqa: B017 - the crew fails for good
            build_crew(llm, name="broken_crew").kickoff(inputs={"topic": "c"})
        fake_llm.reset()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    store = chdb_store("engines")
    spans = copy_spans(path, store)
    with (
        TestClient(create_app(path, rollup_interval_s=0, retention_days=None)) as duck,
        TestClient(create_app(store, rollup_interval_s=0, retention_days=None)) as click,
    ):
        yield Engines(duck, click, calls, spans)
