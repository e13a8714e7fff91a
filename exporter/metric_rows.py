"""SDK ``MetricsData`` -> Arrow tables in the ``otel_metrics_*`` layout (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pyarrow as pa
from opentelemetry.sdk.metrics.export import (
    Gauge,
    HistogramDataPoint,
    MetricsData,
    NumberDataPoint,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData

from crewscope.exporter.attr_values import string_attrs

GAUGE_TABLE: Final = "otel_metrics_gauge"
SUM_TABLE: Final = "otel_metrics_sum"
HISTOGRAM_TABLE: Final = "otel_metrics_histogram"

_TS = pa.timestamp("ns")
_STR = pa.string()
_MAP = pa.map_(pa.string(), pa.string())
_EXEMPLAR = pa.struct(
    [
        ("FilteredAttributes", _MAP),
        ("TimeUnix", _TS),
        ("Value", pa.float64()),
        ("SpanId", _STR),
        ("TraceId", _STR),
    ]
)
_COMMON = [
    ("ResourceAttributes", _MAP),
    ("ResourceSchemaUrl", _STR),
    ("ScopeName", _STR),
    ("ScopeVersion", _STR),
    ("ScopeAttributes", _MAP),
    ("ScopeDroppedAttrCount", pa.uint32()),
    ("ScopeSchemaUrl", _STR),
    ("ServiceName", _STR),
    ("MetricName", _STR),
    ("MetricDescription", _STR),
    ("MetricUnit", _STR),
    ("Attributes", _MAP),
    ("StartTimeUnix", _TS),
    ("TimeUnix", _TS),
]
_NUMBER = [("Value", pa.float64()), ("Flags", pa.uint32()), ("Exemplars", pa.list_(_EXEMPLAR))]
SCHEMAS: Final[dict[str, pa.Schema]] = {
    GAUGE_TABLE: pa.schema(_COMMON + _NUMBER),
    SUM_TABLE: pa.schema(
        _COMMON + _NUMBER + [("AggregationTemporality", pa.int32()), ("IsMonotonic", pa.bool_())]
    ),
    HISTOGRAM_TABLE: pa.schema(
        _COMMON
        + [
            ("Count", pa.uint64()),
            ("Sum", pa.float64()),
            ("BucketCounts", pa.list_(pa.uint64())),
            ("ExplicitBounds", pa.list_(pa.float64())),
            ("Exemplars", pa.list_(_EXEMPLAR)),
            ("Flags", pa.uint32()),
            ("Min", pa.float64()),
            ("Max", pa.float64()),
            ("AggregationTemporality", pa.int32()),
        ]
    ),
}


Row = dict[str, object]
"""One data point as ``pa.Table.from_pylist`` takes it: column name -> value."""


def _map(attrs: Mapping[str, object] | None) -> list[tuple[str, str]]:
    return list(string_attrs(attrs).items())


def _hex(value: int | None, width: int) -> str | None:
    return None if not value else format(value, f"0{width}x")


def _point_row(info: Row, point: NumberDataPoint | HistogramDataPoint) -> Row:
    """The columns every kind of point has."""
    return {
        **info,
        "Attributes": _map(point.attributes),
        "StartTimeUnix": point.start_time_unix_nano or None,
        "TimeUnix": point.time_unix_nano,
        "Exemplars": [
            {
                "FilteredAttributes": _map(e.filtered_attributes),
                "TimeUnix": e.time_unix_nano,
                "Value": float(e.value),
                "SpanId": _hex(e.span_id, 16),
                "TraceId": _hex(e.trace_id, 32),
            }
            for e in point.exemplars or ()
        ],
        "Flags": 0,
    }


def metrics_to_tables(data: MetricsData) -> tuple[dict[str, pa.Table], int]:
    """One Arrow table per metrics table, and the number of points not stored
    (exponential histograms and unknown data types)."""
    rows: dict[str, list[Row]] = {name: [] for name in SCHEMAS}
    skipped = 0
    for rm in data.resource_metrics:
        res_attrs = _map(rm.resource.attributes)
        service = rm.resource.attributes.get("service.name")
        for sm in rm.scope_metrics:
            scope = sm.scope
            base: Row = {
                "ResourceAttributes": res_attrs,
                "ResourceSchemaUrl": rm.schema_url or "",
                "ScopeName": scope.name,
                "ScopeVersion": scope.version or "",
                "ScopeAttributes": _map(scope.attributes),
                "ScopeDroppedAttrCount": 0,
                "ScopeSchemaUrl": sm.schema_url or scope.schema_url or "",
                "ServiceName": None if service is None else str(service),
            }
            for metric in sm.metrics:
                info: Row = {
                    **base,
                    "MetricName": metric.name,
                    "MetricDescription": metric.description or "",
                    "MetricUnit": metric.unit or "",
                }
                data_ = metric.data
                if isinstance(data_, Sum):
                    temporality, monotonic = int(data_.aggregation_temporality), data_.is_monotonic
                    rows[SUM_TABLE].extend(
                        {**_point_row(info, p), "Value": float(p.value),
                         "AggregationTemporality": temporality, "IsMonotonic": bool(monotonic)}
                        for p in data_.data_points
                    )  # fmt: skip
                elif isinstance(data_, Gauge):
                    rows[GAUGE_TABLE].extend(
                        {**_point_row(info, p), "Value": float(p.value)} for p in data_.data_points
                    )
                elif isinstance(data_, HistogramData):
                    temporality = int(data_.aggregation_temporality)
                    rows[HISTOGRAM_TABLE].extend(
                        {
                            **_point_row(info, p),
                            "Count": p.count,
                            "Sum": float(p.sum),
                            "BucketCounts": list(p.bucket_counts),
                            "ExplicitBounds": [float(b) for b in p.explicit_bounds],
                            "Min": _finite(p.min),
                            "Max": _finite(p.max),
                            "AggregationTemporality": temporality,
                        }
                        for p in data_.data_points
                    )
                else:  # ExponentialHistogram: no table (yet)
                    skipped += len(data_.data_points)
    tables = {
        name: pa.Table.from_pylist(table_rows, schema=SCHEMAS[name])
        for name, table_rows in rows.items()
        if table_rows
    }
    return tables, skipped


def _finite(value: float | None) -> float | None:
    # The SDK reports +inf/-inf min/max for a histogram with no measurements.
    if value is None or value in (float("inf"), float("-inf")):
        return None
    return float(value)
