"""Lookups in one collection of OTel metrics (`InMemoryMetricReader.get_metrics_data()`)."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics.export import MetricsData


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


def by_attrs(pts: list[Any], **match: object) -> list[Any]:
    """Points whose attributes include `match` (keys with dots given as `a__b` -> `a.b`)."""
    wanted = {k.replace("__", "."): v for k, v in match.items()}
    return [p for p in pts if all(p.attributes.get(k) == v for k, v in wanted.items())]
