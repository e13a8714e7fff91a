"""Odd OTLP log input, property-based: stored faithfully, or refused with a clear reason.

Records with bodies of every ``AnyValue`` kind (nested maps and arrays, bytes, NaN, huge
integers, NUL and any Unicode), no body, times at the edges, ids of any length, any 32-bit
severity number and flags, event names in the field or the ``event.name`` attribute, posted
to the real receiver (`wire.body`) and converted without HTTP (`decode_logs` ->
`log_writer`). "Faithful" (the oracle `expected_row`):

- Body: a string body as is; any other body as `tests.inputs.values` stores attribute
  values (JSON for maps and arrays, base64 for bytes, Python's text for numbers); NULL when
  the record has none (or an empty one);
- Timestamp: the record's time, else its observed time, else 0 (1970-01-01); a record
  whose time is past 2262-04-11T23:47:16.854775806Z is rejected alone (partial success
  with the reason); so is a record with a trace id that is neither empty nor 16 bytes or a
  span id neither empty nor 8 bytes; the request's other records are stored;
- TraceFlags: the low 8 bits of ``flags``; SeverityNumber as sent (also out of 1..24);
  SeverityText NULL when empty; EventName the field, else the ``event.name`` attribute;
- the promoted columns copy their attributes (CrewName ``crewai.crew.name``, ...).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from crewscope.exporter.receiver.otlp_logs import decode_logs, log_writer
from crewscope.exporter.span_rows import MAX_TIMESTAMP_NS
from crewscope.exporter.store import SpanStore
from tests.inputs import wire
from tests.inputs.conftest import SETTINGS, Receiver
from tests.inputs.values import (
    Value,
    attributes,
    expected_map,
    expected_str,
    key_values,
    same,
    texts,
    to_any,
    values,
)

MAX = MAX_TIMESTAMP_NS
U64 = 2**64 - 1
NOW = 1_750_000_000_000_000_000
times = st.one_of(
    st.sampled_from([0, 1, NOW, MAX, MAX + 1, U64]),
    st.integers(0, MAX),
    st.integers(MAX + 1, U64),
)
_batches = itertools.count(1)
PROMOTED = {"CrewName": "crewai.crew.name", "AgentName": "gen_ai.agent.name",
            "TaskName": "crewai.task.name", "RunId": "crewscope.run.id",
            "RootRunId": "crewscope.run.root_id"}  # fmt: skip


@dataclass
class Record:
    time: int
    observed: int
    severity: int
    severity_text: str
    body: Value | None  # None: no body field at all
    attrs: list[tuple[str, Value]]
    flags: int
    trace_id: bytes
    span_id: bytes
    event_name: str

    @property
    def rejected(self) -> bool:
        bad_ids = len(self.trace_id) not in (0, 16) or len(self.span_id) not in (0, 8)
        return bad_ids or (self.time or self.observed) > MAX


@dataclass
class LogBatch:
    schema_url: str
    resource: list[tuple[str, Value]]
    scope: tuple[str, str, list[tuple[str, Value]]]
    records: list[Record]

    def request(self) -> ExportLogsServiceRequest:
        request = ExportLogsServiceRequest()
        rl = request.resource_logs.add(schema_url=self.schema_url)
        rl.resource.attributes.extend(key_values(self.resource))
        sl = rl.scope_logs.add(schema_url="https://scope")
        sl.scope.name, sl.scope.version = self.scope[0], self.scope[1]
        sl.scope.attributes.extend(key_values(self.scope[2]))
        for r in self.records:
            lr = sl.log_records.add(
                time_unix_nano=r.time, observed_time_unix_nano=r.observed,
                severity_number=r.severity,  # type: ignore[arg-type]
                severity_text=r.severity_text, flags=r.flags, trace_id=r.trace_id,
                span_id=r.span_id, event_name=r.event_name, attributes=key_values(r.attrs),
            )  # fmt: skip
            if r.body is not None:
                lr.body.CopyFrom(to_any(r.body))
        return request


def expected_row(batch: LogBatch, r: Record) -> dict[str, Any]:
    attrs = expected_map(r.attrs)
    resource = expected_map(batch.resource)
    return {
        "Timestamp": r.time or r.observed,
        "TraceId": r.trace_id.hex(),
        "SpanId": r.span_id.hex(),
        "TraceFlags": r.flags & 0xFF,
        "SeverityText": r.severity_text or None,
        "SeverityNumber": r.severity,
        "ServiceName": resource.get("service.name"),
        "Body": None if r.body is None else expected_str(r.body),
        "ResourceSchemaUrl": batch.schema_url,
        "ResourceAttributes": resource,
        "ScopeSchemaUrl": "https://scope",
        "ScopeName": batch.scope[0] or None,
        "ScopeVersion": batch.scope[1] or None,
        "ScopeAttributes": expected_map(batch.scope[2]),
        "LogAttributes": attrs,
        "EventName": r.event_name or attrs.get("event.name") or None,
        **{column: attrs.get(key) for column, key in PROMOTED.items()},
    }


@st.composite
def log_batches(draw: st.DrawFn) -> LogBatch:
    records = [
        Record(
            time=draw(st.one_of(st.just(0), times)),
            observed=draw(st.one_of(st.just(0), times)),
            severity=draw(
                st.one_of(st.integers(0, 24), st.sampled_from([-1, 25, 2**31 - 1, -(2**31)]))
            ),
            severity_text=draw(st.sampled_from(["", "INFO", "WARNING", "\u8b66\u544a"])),
            body=draw(st.one_of(st.none(), values(), st.tuples(st.just("string"), texts))),
            attrs=draw(attributes),
            flags=draw(st.sampled_from([0, 1, 0x1FF, 2**32 - 1])),
            trace_id=draw(
                st.one_of(st.just(b""), st.binary(min_size=16, max_size=16), st.binary(max_size=20))
            ),
            span_id=draw(
                st.one_of(st.just(b""), st.binary(min_size=8, max_size=8), st.binary(max_size=12))
            ),
            event_name=draw(
                st.sampled_from(["", "gen_ai.client.inference.operation.details", "\x00"])
            ),
        )  # fmt: skip
        for _ in range(draw(st.integers(1, 4)))
    ]
    resource = draw(attributes) + draw(
        st.sampled_from([[], [("service.name", ("string", "log-svc"))]])
    )
    scope = (draw(texts), draw(st.sampled_from(["", "2.0"])), draw(attributes))
    return LogBatch(f"https://inputs/{next(_batches)}", resource, scope, records)


READ = """SELECT epoch_ns("Timestamp") AS "Timestamp", * EXCLUDE ("Timestamp")
FROM otel_logs WHERE "ResourceSchemaUrl" = $1"""


def check(batch: LogBatch, cursor_of: Any) -> None:
    cur = cursor_of()
    try:
        result = cur.execute(READ, [batch.schema_url])
        names = [d[0] for d in result.description]
        got = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        cur.close()
    want = [expected_row(batch, r) for r in batch.records if not r.rejected]
    assert len(got) == len(want), (len(got), len(want))
    unmatched = list(got)
    for row in want:
        i = next((i for i, g in enumerate(unmatched) if same(g, row)), None)
        if i is None:
            diffs = [{k: (g.get(k), v) for k, v in row.items() if not same(g.get(k), v)}
                     for g in unmatched]  # fmt: skip
            raise AssertionError(f"log record not stored as sent: {diffs}")
        unmatched.pop(i)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpanStore]:
    with SpanStore(str(tmp_path_factory.mktemp("logs") / "logs.duckdb")) as store:
        yield store


@settings(SETTINGS, max_examples=60)
@given(batch=log_batches(), encoding=st.sampled_from(["protobuf", "json"]))
def test_decoded_records_are_stored_as_sent(
    store: SpanStore, batch: LogBatch, encoding: str
) -> None:
    data, headers = wire.body(batch.request(), encoding)
    decoded = decode_logs(data, headers["Content-Type"])
    assert decoded.rejected == sum(r.rejected for r in batch.records)
    log_writer(store)([decoded.table])
    check(batch, store.cursor)


@settings(SETTINGS, max_examples=30)
@given(batch=log_batches(), encoding=st.sampled_from(wire.ENCODINGS))
def test_receiver_stores_every_valid_record(
    receiver: Receiver, batch: LogBatch, encoding: str
) -> None:
    data, headers = wire.body(batch.request(), encoding)
    r = receiver.client.post("/v1/logs", content=data, headers=headers)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    partial = wire.reply(r, ExportLogsServiceResponse).partial_success  # type: ignore[attr-defined]
    rejected = [rec for rec in batch.records if rec.rejected]
    assert partial.rejected_log_records == len(rejected)
    late = [rec for rec in rejected if len(rec.trace_id) in (0, 16) and len(rec.span_id) in (0, 8)]
    assert ("the latest the store holds" in partial.error_message) == bool(late)
    check(batch, receiver.app.state.db.store.cursor)
    # and the API lists them without failing, whatever their bodies
    assert receiver.get("/logs", service="log-svc", limit=100).status_code == 200
    assert receiver.get("/logs", q="\x00").status_code == 200
