"""The in-process path with odd input: SDK spans and log records (made by the real SDK, as an
instrumented app makes them) through `DuckDBSpanExporter` / `DuckDBLogExporter`.

An app can hand the SDK any Python int as a time (``start_span(start_time=...)``,
``span.end(end_time=...)``, ``logger.emit(timestamp=...)``) and any valid attribute value
(ints beyond 64 bits, NaN, sequences). "Faithful" here:

- times within 2**63 - 2 ns of the epoch either way are stored to the nanosecond (a time
  of 0 is no time: a span without a start is stored at its end, a record without a time
  at its observed time, as the SDK exporters do); a span or
  record with a time beyond (or a duration beyond 64 bits) cannot be stored: it alone is
  dropped and counted (``stats.spans_dropped`` / the log stats), the batch's others are
  stored; an end before the start is duration 0, as through the receiver;
- attribute values and bodies as `attr_to_str` documents (ints in decimal at any size,
  sequences and maps as JSON, bytes base64); a token count beyond a BIGINT is kept as the
  attribute with the typed column NULL (such a span was dropped before).
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crewscope.exporter import DuckDBSpanExporter
from crewscope.exporter.log_exporter import DuckDBLogExporter
from crewscope.exporter.span_rows import MAX_TIMESTAMP_NS
from tests.inputs.conftest import SETTINGS
from tests.inputs.values import doubles, expected_tokens, same

MAX = MAX_TIMESTAMP_NS
NOW = 1_750_000_000_000_000_000
sdk_times = st.one_of(
    st.sampled_from([1, NOW, MAX, MAX + 1, -MAX, -MAX - 1, 2**64, -(2**70)]),
    st.integers(-MAX, MAX),
    st.integers(NOW - 10**12, NOW + 10**12),
)
big_ints = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([2**63, -(2**63) - 1]))
scalar = st.one_of(st.text(max_size=20), st.booleans(), big_ints, doubles)
sdk_values = st.one_of(
    scalar,
    st.lists(st.text(max_size=8), max_size=3),
    st.lists(big_ints, max_size=3),
    st.lists(doubles, max_size=3),
    st.lists(st.booleans(), max_size=3),
)
sdk_attributes = st.dictionaries(
    st.one_of(st.text(min_size=1, max_size=12), st.sampled_from(["gen_ai.usage.input_tokens",
                                                     "gen_ai.usage.output_tokens"])),
    sdk_values, max_size=5,
)  # fmt: skip
_services = itertools.count(1)


def as_stored(value: Any) -> str:
    """`attr_to_str` of an SDK value (the SDK turns lists into tuples)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return json.dumps(
        list(value) if isinstance(value, tuple) else value,
        ensure_ascii=False,
        default=lambda b: base64.b64encode(b).decode(),
    )


def fits(ns: int) -> bool:
    return -MAX <= ns <= MAX


@pytest.fixture(scope="module")
def span_exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBSpanExporter]:
    exporter = DuckDBSpanExporter(str(tmp_path_factory.mktemp("sdk") / "spans.duckdb"))
    yield exporter
    exporter.shutdown()


@settings(SETTINGS, max_examples=40)
@given(
    specs=st.lists(
        st.tuples(sdk_times, sdk_times, sdk_attributes, st.lists(sdk_times, max_size=2)),
        min_size=1, max_size=5,
    )
)  # fmt: skip
def test_sdk_spans_are_stored_or_dropped_alone(
    span_exporter: DuckDBSpanExporter, specs: list[tuple[int, int, dict[str, Any], list[int]]]
) -> None:
    service = f"sdk-{next(_services)}"
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("odd")
    for i, (start, end, attrs, events) in enumerate(specs):
        span = tracer.start_span(f"s{i}", attributes=attrs, start_time=start)
        for t in events:
            span.add_event("e", timestamp=t)
        span.end(end_time=end)
    spans = memory.get_finished_spans()
    provider.shutdown()

    want = {}
    for i, (start, end, attrs, events) in enumerate(specs):
        start = start or end  # 0 is no start time: the span is stored at its end
        duration = end - start if end else 0
        if fits(start) and all(fits(t) for t in events) and -(2**63) <= duration < 2**63:
            stored = {k: as_stored(v) for k, v in attrs.items()}
            want[f"s{i}"] = (start, max(0, duration), stored,
                             expected_tokens(stored.get("gen_ai.usage.input_tokens")),
                             expected_tokens(stored.get("gen_ai.usage.output_tokens")))  # fmt: skip
    dropped = span_exporter.stats.spans_dropped
    span_exporter.export(spans)
    assert span_exporter.stats.spans_dropped - dropped == len(specs) - len(want)
    assert span_exporter.store is not None
    cur = span_exporter.store.cursor()
    try:
        rows = cur.execute(
            """SELECT "SpanName", epoch_ns("Timestamp"), "Duration", "SpanAttributes",
                      "InputTokens", "OutputTokens"
               FROM otel_traces WHERE "ServiceName" = $1""",
            [service],
        ).fetchall()
    finally:
        cur.close()
    got = {r[0]: r[1:] for r in rows}
    assert got.keys() == want.keys()
    for name, row in want.items():
        assert same(list(got[name]), list(row)), (name, got[name], row)


@pytest.fixture(scope="module")
def log_exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBLogExporter]:
    exporter = DuckDBLogExporter(str(tmp_path_factory.mktemp("sdk") / "logs.duckdb"))
    yield exporter
    exporter.shutdown()


bodies = st.recursive(
    st.one_of(st.text(max_size=20), big_ints, doubles, st.booleans(), st.binary(max_size=8),
              st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)  # fmt: skip


@settings(SETTINGS, max_examples=40)
@given(records=st.lists(st.tuples(sdk_times, bodies, sdk_attributes), min_size=1, max_size=4))
def test_sdk_log_records_are_stored_or_dropped_alone(
    log_exporter: DuckDBLogExporter, records: list[tuple[int, Any, dict[str, Any]]]
) -> None:
    service = f"sdk-logs-{next(_services)}"
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": service}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("odd")
    for i, (t, body, attrs) in enumerate(records):
        logger.emit(timestamp=t, body=body, attributes={**attrs, "i": i})
    finished = memory.get_finished_logs()
    provider.shutdown()
    want = {
        i: (t, None if body is None else as_stored(body))
        for i, (t, body, _) in enumerate(records)
        if fits(t)
    }
    assert log_exporter.export(finished).name == ("SUCCESS" if want else "FAILURE")
    assert log_exporter._writer.store is not None
    cur = log_exporter._writer.store.cursor()
    try:
        rows = cur.execute(
            """SELECT "LogAttributes"['i'], epoch_ns("Timestamp"), "Body"
               FROM otel_logs WHERE "ServiceName" = $1""",
            [service],
        ).fetchall()
    finally:
        cur.close()
    got = {int(r[0]): r[1:] for r in rows}
    assert got.keys() == want.keys()
    for i, (t, body) in want.items():
        if t == 0:  # no time: the observed time (when it was emitted)
            t = got[i][0]
        assert same(list(got[i]), [t, body]), (i, got[i], (t, body))
