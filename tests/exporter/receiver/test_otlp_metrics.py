"""`POST /v1/metrics`: the official OTLP metric exporter into crewscope serve; the rows equal
what the in-process DuckDB metric exporter writes for the same instruments."""

from __future__ import annotations

import duckdb
import httpx
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, ObservableGauge
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from crewscope.exporter import DuckDBMetricExporter

CUMULATIVE = {
    Counter: AggregationTemporality.CUMULATIVE,
    Histogram: AggregationTemporality.CUMULATIVE,
    ObservableGauge: AggregationTemporality.CUMULATIVE,
}
PB = {"Content-Type": "application/x-protobuf"}


def test_metrics_via_otlp_equal_in_process_rows(served, tmp_path):
    direct_path = str(tmp_path / "direct-metrics.duckdb")
    direct = DuckDBMetricExporter(direct_path, preferred_temporality=CUMULATIVE)
    otlp = OTLPMetricExporter(endpoint=f"{served.url}/v1/metrics", preferred_temporality=CUMULATIVE)
    readers = [
        PeriodicExportingMetricReader(e, export_interval_millis=3_600_000) for e in (direct, otlp)
    ]
    provider = MeterProvider(
        metric_readers=readers, resource=Resource.create({"service.name": "metrics-app"})
    )
    meter = provider.get_meter("test")
    calls = meter.create_counter("crewscope.tool.calls", unit="{call}")
    latency = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    meter.create_observable_gauge(
        "process.cpu.utilization", callbacks=[lambda _: [Observation(0.25, {"process.pid": 7})]]
    )
    for i in range(5):
        calls.add(1, {"gen_ai.tool.name": "search", "ok": i % 2 == 0})
        latency.record(0.1 * (i + 1), {"gen_ai.operation.name": "chat"})
    provider.shutdown()  # one final collection for both readers

    con = duckdb.connect(direct_path, read_only=True)
    queries = {
        "otel_metrics_sum": "SELECT ServiceName, MetricName, MetricUnit, Attributes, Value, "
        "AggregationTemporality, IsMonotonic FROM otel_metrics_sum ORDER BY all",
        "otel_metrics_histogram": "SELECT MetricName, Attributes, Count, Sum, BucketCounts, "
        "ExplicitBounds, Min, Max FROM otel_metrics_histogram ORDER BY MetricName",
        "otel_metrics_gauge": "SELECT MetricName, Attributes, Value FROM otel_metrics_gauge",
    }
    for table, sql in queries.items():
        expected = con.execute(sql).fetchall()
        assert expected, table
        assert served.rows(sql) == expected, table
    con.close()
    [(count, total)] = served.rows("SELECT Count, Sum FROM otel_metrics_histogram")
    assert count == 5 and abs(total - 1.5) < 1e-9


def test_bad_metric_payloads_and_partial_success(served):
    reply = httpx.post(f"{served.url}/v1/metrics", content=b"\xff\x00junk", headers=PB)
    assert reply.status_code == 400
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = "latency.summary"
    point = metric.summary.data_points.add()
    point.count = 3
    reply = httpx.post(f"{served.url}/v1/metrics", content=request.SerializeToString(), headers=PB)
    assert reply.status_code == 200
    response = ExportMetricsServiceResponse.FromString(reply.content)
    assert response.partial_success.rejected_data_points == 1
