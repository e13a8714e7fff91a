"""Fixtures for the metrics tests: an in-memory metric reader wired into the instrumentor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData


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


def points(data: MetricsData | None, name: str) -> list[Any]:
    """Every data point of metric `name` in one collection."""
    out: list[Any] = []
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    out.extend(metric.data.data_points)
    return out


def metric(data: MetricsData | None, name: str) -> Any:
    """The metric `name` (unit, description, data) in one collection."""
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name == name:
                    return m
    raise AssertionError(f"no metric {name}")


def by_attrs(pts: list[Any], **match: str) -> list[Any]:
    """Points whose attributes include `match` (keys with dots given as `a__b` -> `a.b`)."""
    wanted = {k.replace("__", "."): v for k, v in match.items()}
    return [p for p in pts if all(p.attributes.get(k) == v for k, v in wanted.items())]
