"""Odd OTLP metric input, property-based: stored faithfully, or refused with a clear reason.

Requests of gauges, sums and histograms (and the unsupported exponential histograms and
summaries) with NaN and infinite values, 64-bit integer values, time edges, odd attribute
values, exemplars with ids of any length, unknown temporalities, posted to the real
receiver (`wire.body`) and converted without HTTP (`decode_metrics` -> `metric_writer`).
"Faithful" (the oracle `expected_rows`):

- values stored as DOUBLE as sent, NaN and +-inf included (an integer value as the double
  nearest it); histogram counts and bucket counts as unsigned 64-bit, sum/min/max as sent,
  NULL when absent;
- TimeUnix as sent (0: 1970-01-01), StartTimeUnix NULL when 0; a point with a time (or an
  exemplar time) past 2262-04-11T23:47:16.854775806Z is rejected alone (partial success,
  with the reason), the request's other points are stored;
- exponential histograms and summaries: every point rejected (partial success); a metric
  with no data: one rejected;
- attributes as `tests.inputs.values` documents; exemplar ids as lowercase hex of whatever
  bytes were sent, NULL when empty; AggregationTemporality the number sent.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

from crewscope.exporter.receiver.otlp_metrics import decode_metrics, metric_writer
from crewscope.exporter.span_rows import MAX_TIMESTAMP_NS
from crewscope.exporter.store import SpanStore
from crewscope.query_api import create_app
from tests.helpers.served import API
from tests.inputs import wire
from tests.inputs.conftest import SETTINGS, Receiver
from tests.inputs.values import INT64, Value, attributes, doubles, expected_map, key_values, same

MAX = MAX_TIMESTAMP_NS
U64 = 2**64 - 1
NOW = 1_750_000_000_000_000_000
times = st.one_of(
    st.sampled_from([0, 1, NOW, MAX, MAX + 1, U64]),
    st.integers(0, MAX),
    st.integers(MAX + 1, U64),
)
_names = itertools.count(1)
TABLES = {"gauge": "otel_metrics_gauge", "sum": "otel_metrics_sum",
          "histogram": "otel_metrics_histogram"}  # fmt: skip


@dataclass
class Point:
    time: int
    start: int
    value: tuple[str, float | int]
    attrs: list[tuple[str, Value]]
    flags: int
    exemplars: list[tuple[int, tuple[str, float | int], bytes, bytes, list[tuple[str, Value]]]]
    hist: dict[str, Any] = field(default_factory=dict)

    @property
    def too_late(self) -> bool:
        return max(self.time, self.start, *(e[0] for e in self.exemplars)) > MAX


@dataclass
class MetricSpec:
    name: str
    kind: str  # gauge, sum, histogram, exponential_histogram, summary, none
    description: str
    unit: str
    temporality: int
    monotonic: bool
    points: list[Point]

    def message(self) -> Metric:
        m = Metric(name=self.name, description=self.description, unit=self.unit)
        if self.kind == "none":
            return m
        data = getattr(m, self.kind)
        data.SetInParent()  # the kind is set even with no points
        if self.kind in ("sum", "histogram", "exponential_histogram"):
            data.aggregation_temporality = self.temporality
        if self.kind == "sum":
            data.is_monotonic = self.monotonic
        for p in self.points:
            dp = data.data_points.add(time_unix_nano=p.time, start_time_unix_nano=p.start)
            dp.attributes.extend(key_values(p.attrs))
            if self.kind in ("summary", "exponential_histogram"):
                dp.count = 1
                continue
            dp.flags = p.flags
            if self.kind in ("gauge", "sum"):
                setattr(dp, f"as_{p.value[0]}", p.value[1])
            else:
                dp.count = p.hist["count"]
                dp.bucket_counts.extend(p.hist["buckets"])
                dp.explicit_bounds.extend(p.hist["bounds"])
                for k in ("sum", "min", "max"):
                    if p.hist[k] is not None:
                        setattr(dp, k, p.hist[k])
            for t, (vkind, v), sid, tid, fattrs in p.exemplars:
                e = dp.exemplars.add(time_unix_nano=t, span_id=sid, trace_id=tid)
                setattr(e, f"as_{vkind}", v)
                e.filtered_attributes.extend(key_values(fattrs))
        return m


@dataclass
class MetricBatch:
    resource: list[tuple[str, Value]]
    scope: tuple[str, str]
    metrics: list[MetricSpec]

    def request(self) -> ExportMetricsServiceRequest:
        request = ExportMetricsServiceRequest()
        rm = request.resource_metrics.add(schema_url="https://r")
        rm.resource.attributes.extend(key_values(self.resource))
        sm = rm.scope_metrics.add(schema_url="")
        sm.scope.name, sm.scope.version = self.scope
        sm.metrics.extend(m.message() for m in self.metrics)
        return request

    def rejected(self) -> int:
        n = 0
        for m in self.metrics:
            if m.kind in TABLES:
                n += sum(1 for p in m.points if p.too_late)
            elif m.kind == "none":
                n += 1
            else:
                n += len(m.points)
        return n


numbers = st.one_of(
    st.tuples(st.just("double"), doubles), st.tuples(st.just("int"), st.integers(*INT64))
)
small_attrs = attributes.map(lambda a: a[:3])
maybe = st.one_of(st.none(), doubles)


@st.composite
def points(draw: st.DrawFn) -> Point:
    n_buckets = draw(st.integers(0, 4))
    return Point(
        time=draw(times),
        start=draw(st.one_of(st.just(0), times)),
        value=draw(numbers),
        attrs=draw(small_attrs),
        flags=draw(st.sampled_from([0, 1, 2**32 - 1])),
        exemplars=draw(
            st.lists(
                st.tuples(
                    times, numbers, st.binary(max_size=10), st.binary(max_size=20), small_attrs
                ),
                max_size=2,
            )
        ),  # fmt: skip
        hist={
            "count": draw(st.sampled_from([0, 1, 2**63, U64])),
            "buckets": draw(st.lists(st.integers(0, U64), min_size=n_buckets, max_size=n_buckets)),
            "bounds": draw(st.lists(doubles, max_size=max(0, n_buckets - 1))),
            "sum": draw(maybe),
            "min": draw(maybe),
            "max": draw(maybe),
        },
    )


@st.composite
def metric_batches(draw: st.DrawFn) -> MetricBatch:
    metrics = [
        MetricSpec(
            name=f"odd.metric.{next(_names)}",
            kind=draw(
                st.sampled_from(
                    [
                        "gauge",
                        "sum",
                        "histogram",
                        "gauge",
                        "sum",
                        "histogram",
                        "exponential_histogram",
                        "summary",
                        "none",
                    ]
                )
            ),
            description=draw(st.text(max_size=20)),
            unit=draw(st.sampled_from(["", "s", "{token}", "\u00b5s"])),
            temporality=draw(st.integers(-1, 5)),
            monotonic=draw(st.booleans()),
            points=draw(st.lists(points(), max_size=3)),
        )  # fmt: skip
        for _ in range(draw(st.integers(1, 3)))
    ]
    resource = draw(small_attrs) + draw(
        st.sampled_from([[], [("service.name", ("string", "odd-svc"))]])
    )
    return MetricBatch(resource, (draw(st.text(max_size=10)), ""), metrics)


def expected_rows(batch: MetricBatch, m: MetricSpec) -> list[dict[str, Any]]:
    resource = expected_map(batch.resource)
    out = []
    for p in m.points:
        if p.too_late:
            continue
        row: dict[str, Any] = {
            "ResourceAttributes": resource,
            "ResourceSchemaUrl": "https://r",
            "ScopeName": batch.scope[0],
            "ScopeVersion": batch.scope[1],
            "ServiceName": resource.get("service.name"),
            "MetricName": m.name,
            "MetricDescription": m.description,
            "MetricUnit": m.unit,
            "Attributes": expected_map(p.attrs),
            "StartTimeUnix": p.start or None,
            "TimeUnix": p.time,
            "Flags": p.flags,
            "Exemplars": [
                {"a": expected_map(fa), "t": t, "v": float(v[1]), "s": sid.hex() or None,
                 "tr": tid.hex() or None}
                for t, v, sid, tid, fa in p.exemplars
            ],
        }  # fmt: skip
        if m.kind in ("gauge", "sum"):
            row["Value"] = float(p.value[1])
        if m.kind == "sum":
            row["AggregationTemporality"] = m.temporality
            row["IsMonotonic"] = m.monotonic
        if m.kind == "histogram":
            row.update(
                Count=p.hist["count"], Sum=p.hist["sum"], BucketCounts=p.hist["buckets"],
                ExplicitBounds=p.hist["bounds"], Min=p.hist["min"], Max=p.hist["max"],
                AggregationTemporality=m.temporality,
            )  # fmt: skip
        out.append(row)
    return out


COMMON = """"ResourceAttributes", "ResourceSchemaUrl", "ScopeName", "ScopeVersion", "ServiceName",
    "MetricName", "MetricDescription", "MetricUnit", "Attributes",
    epoch_ns("StartTimeUnix") AS "StartTimeUnix", epoch_ns("TimeUnix") AS "TimeUnix", "Flags",
    list_transform("Exemplars", lambda e: {'a': e."FilteredAttributes",
        't': epoch_ns(e."TimeUnix"), 'v': e."Value", 's': e."SpanId", 'tr': e."TraceId"})
        AS "Exemplars\""""
EXTRA = {
    "gauge": ', "Value"',
    "sum": ', "Value", "AggregationTemporality", "IsMonotonic"',
    "histogram": ', "Count", "Sum", "BucketCounts", "ExplicitBounds", "Min", "Max", '
    '"AggregationTemporality"',
}


Rows = Any
"""(sql, params) -> the result as a list of dicts."""


def check(batch: MetricBatch, rows: Rows) -> None:
    """Every metric's table holds exactly its storable points, as sent; unsupported kinds
    and rejected points are in no table."""
    for m in batch.metrics:
        for kind, table in TABLES.items():
            got = rows(
                f'SELECT {COMMON}{EXTRA[kind]} FROM {table} WHERE "MetricName" = $1', [m.name]
            )
            want = expected_rows(batch, m) if m.kind == kind else []
            assert len(got) == len(want), (m.kind, table, len(got), len(want))
            unmatched = list(got)
            for row in want:
                i = next((i for i, g in enumerate(unmatched) if same(g, row)), None)
                if i is None:
                    diffs = [{k: (g.get(k), v) for k, v in row.items() if not same(g.get(k), v)}
                             for g in unmatched]  # fmt: skip
                    raise AssertionError(f"{m.kind} point not stored as sent: {diffs}")
                unmatched.pop(i)


def dict_rows(cursor_of: Any) -> Rows:
    def rows(sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cur = cursor_of()
        try:
            result = cur.execute(sql, params)
            names = [d[0] for d in result.description]
            return [dict(zip(names, r, strict=True)) for r in result.fetchall()]
        finally:
            cur.close()

    return rows


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpanStore]:
    with SpanStore(str(tmp_path_factory.mktemp("metrics") / "m.duckdb")) as store:
        yield store


@settings(SETTINGS, max_examples=50)
@given(batch=metric_batches(), encoding=st.sampled_from(["protobuf", "json"]))
def test_decoded_points_are_stored_as_sent(
    store: SpanStore, batch: MetricBatch, encoding: str
) -> None:
    data, headers = wire.body(batch.request(), encoding)
    decoded = decode_metrics(data, headers["Content-Type"])
    assert decoded.rejected == batch.rejected()
    metric_writer(store)([decoded.payload])
    check(batch, dict_rows(store.cursor))


@settings(SETTINGS, max_examples=30)
@given(batch=metric_batches(), encoding=st.sampled_from(wire.ENCODINGS))
def test_receiver_stores_every_storable_point(
    receiver: Receiver, batch: MetricBatch, encoding: str
) -> None:
    data, headers = wire.body(batch.request(), encoding)
    r = receiver.client.post("/v1/metrics", content=data, headers=headers)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    partial = wire.reply(r, ExportMetricsServiceResponse).partial_success  # type: ignore[attr-defined]
    assert partial.rejected_data_points == batch.rejected()
    late = sum(1 for m in batch.metrics if m.kind in TABLES for p in m.points if p.too_late)
    assert ("the latest the store holds" in partial.error_message) == bool(late)

    check(batch, dict_rows(receiver.app.state.db.store.cursor))


@pytest.fixture
def own_app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An app of its own: what these tests store would break the shared app's endpoints."""
    monkeypatch.setenv("CREWSCOPE_INGEST_DECODE_WORKERS", "0")
    app = create_app(str(tmp_path / "own.duckdb"), rollup_interval_s=0, retention_days=None,
                     self_telemetry=False)  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _process_request(name: str, value: float) -> bytes:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(
        key_values([("service.name", ("string", "nan-app")), ("process.pid", ("int", 42))])
    )
    metric = rm.scope_metrics.add().metrics.add(name=name)
    point = metric.gauge.data_points.add(time_unix_nano=_now(), as_double=value)
    point.attributes.extend(key_values([("process.pid", ("int", 42))]))
    return request.SerializeToString()


def _now() -> int:
    return time.time_ns()


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        ("process.thread.count", float("nan")),
        ("process.unix.file_descriptor.count", float("inf")),
        ("process.context_switches", float("-inf")),
    ],
)
def test_a_nan_count_sample_does_not_break_the_process_views(
    own_app: TestClient, metric: str, value: float
) -> None:
    """A NaN or infinite count sample (threads, file descriptors, context switches) is stored
    as sent and shown as null: the process views answer 200 (they answered 500 before)."""
    r = own_app.post("/v1/metrics", content=_process_request(metric, value),
                     headers={"Content-Type": wire.PROTOBUF})  # fmt: skip
    assert r.status_code == 200
    answers = {
        path: own_app.get(f"{API}{path}").status_code
        for path in ("/metrics/process", "/metrics/process/series?resolution=1m")
    }
    assert answers == {"/metrics/process": 200, "/metrics/process/series?resolution=1m": 200}


@pytest.mark.parametrize(
    ("metric", "value", "shown"),
    [
        ("process.cpu.utilization", float("nan"), "cpu_percent"),
        ("process.memory.usage", float("inf"), "memory_mb"),
        ("process.cpu.time", float("-inf"), "cpu_time_s"),
    ],
)
def test_a_nan_gauge_sample_is_shown_as_null(
    own_app: TestClient, metric: str, value: float, shown: str
) -> None:
    """NaN and infinities are stored as sent; the process view shows them as null (JSON has
    no NaN), and answers 200."""
    r = own_app.post("/v1/metrics", content=_process_request(metric, value),
                     headers={"Content-Type": wire.PROTOBUF})  # fmt: skip
    assert r.status_code == 200
    r = own_app.get(f"{API}/metrics/process")
    assert r.status_code == 200, r.text[:300]
    [process] = r.json()["processes"]
    assert process[shown] is None
    assert own_app.get(f"{API}/metrics/process/series?resolution=1m").status_code == 200
