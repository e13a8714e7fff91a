"""OTLP metric payloads -> the same ``otel_metrics_*`` rows the in-process exporter writes.

Gauges, sums and histograms are stored; exponential histograms and summaries are counted as
rejected data points (partial success), as the in-process exporter counts them as dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from crewscope.exporter.metric_rows import (
    GAUGE_TABLE,
    HISTOGRAM_TABLE,
    SCHEMAS,
    SUM_TABLE,
)
from crewscope.exporter.receiver.ingest import Writer
from crewscope.exporter.receiver.otlp_decode import PROTOBUF, parse_request, string_map
from crewscope.exporter.store import SpanStore

_INSERT = 'INSERT INTO {table} BY NAME SELECT * FROM "{view}"'


@dataclass
class DecodedMetrics:
    payload: dict[str, pa.Table]
    accepted: int
    rejected: int
    error: str | None = None


def _exemplars(point: Any) -> list[dict[str, Any]]:
    return [
        {
            "FilteredAttributes": list(string_map(e.filtered_attributes).items()),
            "TimeUnix": e.time_unix_nano,
            "Value": e.as_double if e.HasField("as_double") else float(e.as_int),
            "SpanId": e.span_id.hex() or None,
            "TraceId": e.trace_id.hex() or None,
        }
        for e in point.exemplars
    ]


def _number(point: Any) -> float:
    return point.as_double if point.WhichOneof("value") == "as_double" else float(point.as_int)


def decode_metrics(body: bytes, content_type: str) -> DecodedMetrics:
    request = parse_request(body, content_type, ExportMetricsServiceRequest)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMAS}
    rejected = 0
    for rm in request.resource_metrics:
        resource = string_map(rm.resource.attributes)
        for sm in rm.scope_metrics:
            base = {
                "ResourceAttributes": list(resource.items()),
                "ResourceSchemaUrl": rm.schema_url,
                "ScopeName": sm.scope.name,
                "ScopeVersion": sm.scope.version,
                "ScopeAttributes": list(string_map(sm.scope.attributes).items()),
                "ScopeDroppedAttrCount": sm.scope.dropped_attributes_count,
                "ScopeSchemaUrl": sm.schema_url,
                "ServiceName": resource.get("service.name"),
            }
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                info = {**base, "MetricName": metric.name,
                        "MetricDescription": metric.description, "MetricUnit": metric.unit}  # fmt: skip
                if kind not in ("gauge", "sum", "histogram"):
                    rejected += len(getattr(metric, kind).data_points) if kind else 1
                    continue
                data = getattr(metric, kind)
                for point in data.data_points:
                    row = {
                        **info,
                        "Attributes": list(string_map(point.attributes).items()),
                        "StartTimeUnix": point.start_time_unix_nano or None,
                        "TimeUnix": point.time_unix_nano,
                        "Exemplars": _exemplars(point),
                        "Flags": point.flags,
                    }
                    if kind == "gauge":
                        rows[GAUGE_TABLE].append({**row, "Value": _number(point)})
                    elif kind == "sum":
                        rows[SUM_TABLE].append(
                            {
                                **row,
                                "Value": _number(point),
                                "AggregationTemporality": int(data.aggregation_temporality),
                                "IsMonotonic": data.is_monotonic,
                            }  # fmt: skip
                        )
                    else:
                        rows[HISTOGRAM_TABLE].append(
                            {
                                **row,
                                "Count": point.count,
                                "Sum": point.sum if point.HasField("sum") else None,
                                "BucketCounts": list(point.bucket_counts),
                                "ExplicitBounds": list(point.explicit_bounds),
                                "Min": point.min if point.HasField("min") else None,
                                "Max": point.max if point.HasField("max") else None,
                                "AggregationTemporality": int(data.aggregation_temporality),
                            }
                        )
    tables = {
        name: pa.Table.from_pylist(table_rows, schema=SCHEMAS[name])
        for name, table_rows in rows.items()
        if table_rows
    }
    accepted = sum(t.num_rows for t in tables.values())
    error = f"{rejected} data points of unsupported metric types" if rejected else None
    return DecodedMetrics(tables, accepted, rejected, error)


def metrics_response(rejected: int, error: str | None, content_type: str) -> bytes:
    response = ExportMetricsServiceResponse()
    if rejected:
        response.partial_success.rejected_data_points = rejected
        response.partial_success.error_message = error or ""
    if content_type == PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()


def metric_writer(store: SpanStore) -> Writer:
    """Writes every queued request's metric tables in one transaction."""
    view = f"_crewscope_metrics_{id(store):x}"

    def write(payloads: list[dict[str, pa.Table]]) -> None:
        cursor: duckdb.DuckDBPyConnection = store.cursor()
        try:
            cursor.begin()
            try:
                for tables in payloads:
                    for name, table in tables.items():
                        cursor.register(view, table)
                        try:
                            cursor.execute(_INSERT.format(table=name, view=view))
                        finally:
                            cursor.unregister(view)
                cursor.commit()
            except BaseException:
                cursor.rollback()
                raise
        finally:
            cursor.close()

    return write
