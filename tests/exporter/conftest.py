"""Fixtures for the exporter tests: a real SDK pipeline writing to a DuckDB file in tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crewscope.exporter import DuckDBSpanExporter

SERVICE = "crewscope-test"


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "spans.duckdb")


@pytest.fixture
def exporter(db_path: str) -> Iterator[DuckDBSpanExporter]:
    exp = DuckDBSpanExporter(db_path, retry_interval_s=0.2)
    yield exp
    exp.shutdown()


@pytest.fixture
def provider(exporter: DuckDBSpanExporter) -> Iterator[TracerProvider]:
    """A TracerProvider exporting synchronously into `exporter`."""
    tp = TracerProvider(resource=Resource.create({"service.name": SERVICE, "deploy.env": "test"}))
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    yield tp
    tp.shutdown()


@pytest.fixture
def make_spans() -> Callable[[int], list[ReadableSpan]]:
    """Build `n` finished SDK spans (a root and children) without exporting them."""

    def make(n: int, name: str = "step Researcher") -> list[ReadableSpan]:
        mem = InMemorySpanExporter()
        tp = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
        tp.add_span_processor(SimpleSpanProcessor(mem))
        tracer = tp.get_tracer("tests.exporter")
        with tracer.start_as_current_span("invoke_workflow crew"):
            for i in range(n - 1):
                with tracer.start_as_current_span(name, attributes={"crewai.step.index": i}):
                    pass
        spans = list(mem.get_finished_spans())
        tp.shutdown()
        return spans

    return make


@pytest.fixture
def query() -> Callable[..., list[tuple[Any, ...]]]:
    """`query(path, sql, params)` on a fresh read-only connection (close the writer first)."""

    def run(path: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(path, read_only=True) as con:
            return con.execute(sql, params).fetchall()

    return run
