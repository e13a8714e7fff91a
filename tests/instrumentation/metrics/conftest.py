"""Fixtures for the instrumentor's metrics: an in-memory metric reader wired into it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader


@pytest.fixture
def meter_provider() -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield provider, reader
    provider.shutdown()


@pytest.fixture
def metrics(
    _tracing: tuple[Any, Any], meter_provider: tuple[MeterProvider, InMemoryMetricReader]
) -> Iterator[InMemoryMetricReader]:
    """CrewAI instrumented with spans and metrics (no process stats) for one test."""
    from crewscope.instrumentation import CrewAIInstrumentor

    tracer_provider, span_exporter = _tracing
    provider, reader = meter_provider
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=provider, process_metrics=False
    )
    try:
        yield reader
    finally:
        instrumentor.uninstrument()
        span_exporter.clear()
