"""OTLP metric payloads -> the same ``otel_metrics_*`` rows the in-process exporter writes.

Gauges, sums and histograms are stored; exponential histograms and summaries are counted as
rejected data points (partial success), as the in-process exporter counts them as dropped.
So are points with a time (or an exemplar's) past `MAX_TIMESTAMP_NS`, which the store cannot
hold. Values are stored as sent: NaN and infinities too.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    Exemplar,
    HistogramDataPoint,
    NumberDataPoint,
)

from crewscope.exporter.metric_rows import (
    GAUGE_TABLE,
    HISTOGRAM_TABLE,
    SCHEMAS,
    SUM_TABLE,
)
from crewscope.exporter.receiver.ingest import TableSink, Writer
from crewscope.exporter.receiver.otlp_decode import (
    TOO_LATE,
    encode_reply,
    parse_request,
    reasons,
    string_map,
    with_partial_success,
)
from crewscope.exporter.receiver.otlp_http import MetricTables
from crewscope.exporter.span_rows import MAX_TIMESTAMP_NS
from crewscope.exporter.store import SpanStore

_INSERT = 'INSERT INTO {table} BY NAME SELECT * FROM "{view}"'


@dataclass
class DecodedMetrics:
    payload: MetricTables
    accepted: int
    rejected: int
    error: str | None = None


Row = dict[str, object]
"""One data point as ``pa.Table.from_pylist`` takes it: column name -> value."""


def _number(point: NumberDataPoint | Exemplar) -> float:
    return point.as_double if point.WhichOneof("value") == "as_double" else float(point.as_int)


def _point_row(info: Row, point: NumberDataPoint | HistogramDataPoint) -> Row:
    """The columns every kind of point has."""
    return {
        **info,
        "Attributes": list(string_map(point.attributes).items()),
        "StartTimeUnix": point.start_time_unix_nano or None,
        "TimeUnix": point.time_unix_nano,
        "Exemplars": [
            {
                "FilteredAttributes": list(string_map(e.filtered_attributes).items()),
                "TimeUnix": e.time_unix_nano,
                "Value": _number(e),
                "SpanId": e.span_id.hex() or None,
                "TraceId": e.trace_id.hex() or None,
            }
            for e in point.exemplars
        ],
        "Flags": point.flags,
    }


def _storable(point: NumberDataPoint | HistogramDataPoint) -> bool:
    """Whether every time of `point` (its exemplars' too) fits a ``TIMESTAMP_NS``."""
    return (
        point.time_unix_nano <= MAX_TIMESTAMP_NS
        and point.start_time_unix_nano <= MAX_TIMESTAMP_NS
        and all(e.time_unix_nano <= MAX_TIMESTAMP_NS for e in point.exemplars)
    )


def decode_metrics(body: bytes, content_type: str) -> DecodedMetrics:
    request = parse_request(body, content_type, ExportMetricsServiceRequest)
    rows: dict[str, list[Row]] = {name: [] for name in SCHEMAS}
    rejected = too_late = 0
    for rm in request.resource_metrics:
        resource = string_map(rm.resource.attributes)
        for sm in rm.scope_metrics:
            base: Row = {
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
                info: Row = {
                    **base,
                    "MetricName": metric.name,
                    "MetricDescription": metric.description,
                    "MetricUnit": metric.unit,
                }
                kind = metric.WhichOneof("data")
                if kind in ("gauge", "sum", "histogram"):
                    points = getattr(metric, kind).data_points
                    storable = [p for p in points if _storable(p)]
                    too_late += len(points) - len(storable)
                if kind == "gauge":
                    rows[GAUGE_TABLE].extend(
                        {**_point_row(info, p), "Value": _number(p)} for p in storable
                    )
                elif kind == "sum":
                    data = metric.sum
                    rows[SUM_TABLE].extend(
                        {**_point_row(info, p), "Value": _number(p),
                         "AggregationTemporality": int(data.aggregation_temporality),
                         "IsMonotonic": data.is_monotonic}
                        for p in storable
                    )  # fmt: skip
                elif kind == "histogram":
                    hist = metric.histogram
                    rows[HISTOGRAM_TABLE].extend(
                        {
                            **_point_row(info, p),
                            "Count": p.count,
                            "Sum": p.sum if p.HasField("sum") else None,
                            "BucketCounts": list(p.bucket_counts),
                            "ExplicitBounds": list(p.explicit_bounds),
                            "Min": p.min if p.HasField("min") else None,
                            "Max": p.max if p.HasField("max") else None,
                            "AggregationTemporality": int(hist.aggregation_temporality),
                        }
                        for p in storable
                    )
                elif kind == "exponential_histogram":
                    rejected += len(metric.exponential_histogram.data_points)
                elif kind == "summary":
                    rejected += len(metric.summary.data_points)
                else:  # no data at all
                    rejected += 1
    tables = {
        name: pa.Table.from_pylist(table_rows, schema=SCHEMAS[name])
        for name, table_rows in rows.items()
        if table_rows
    }
    accepted = sum(t.num_rows for t in tables.values())
    error = reasons(
        (rejected, "data points", "of unsupported metric types"),
        (too_late, "data points", TOO_LATE),
    )
    return DecodedMetrics(tables, accepted, rejected + too_late, error)


def metrics_response(rejected: int, error: str | None, content_type: str) -> bytes:
    response = ExportMetricsServiceResponse()
    return encode_reply(
        with_partial_success(response, "rejected_data_points", rejected, error), content_type
    )


def metric_writer(store: SpanStore | TableSink) -> Writer[MetricTables]:
    """Writes every queued request's metric tables in one transaction (DuckDB), or hands
    them to a store that inserts them itself (ClickHouse: one insert per table)."""
    if not isinstance(store, SpanStore):
        sink = store

        def append(payloads: list[MetricTables]) -> None:
            names = dict.fromkeys(name for tables in payloads for name in tables)
            sink.append_tables(
                {n: pa.concat_tables([t[n] for t in payloads if n in t]) for n in names}
            )

        return append
    view = f"_crewscope_metrics_{id(store):x}"

    def write(payloads: list[MetricTables]) -> None:
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
