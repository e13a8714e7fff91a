"""Odd OTLP trace input, property-based: stored faithfully, or refused with a clear 4xx.

Bodies are posted to a real app (create_app: receiver, decode worker, DuckDB file, query
API) as the official exporters send them (`wire.body`: protobuf or OTLP/JSON, gzip or not),
and also converted without HTTP (`decode_traces` -> `SpanStore.append`). What "faithful"
means, per edge (the oracle is `expected_row`, written from this list, not from the code):

- attribute values: as `tests.inputs.values` documents (any Unicode and NUL kept, doubles
  as Python prints them, NaN/inf included, bytes base64, arrays/kvlists as JSON); duplicate
  keys: the last with a value wins; an empty key is a key.
- times: start, end and event times up to 2262-04-11T23:47:16.854775806Z (2**63 - 2 ns,
  the latest TIMESTAMP_NS; 0 is 1970-01-01) are stored to the nanosecond. A span with any
  time past it (OTLP times are unsigned 64-bit; DuckDB would store +infinity) is rejected
  alone: the reply is 200 with ``partial_success`` counting it and saying why, the other
  spans of the request are stored.
- end before start (clock stepped back, or no end time: 0): duration 0. A far end (up to
  the limit) is stored as the long duration it is.
- malformed ids (trace id not 16 bytes or all zero, span id not 8 bytes): rejected alone,
  as above. A parent id that is not 8 bytes is no parent (''); a parent that was never
  sent, or the span itself, is stored as sent.
- duplicate span ids (within or across requests): every copy is stored as a row.
- unknown kind: ``Unspecified``; unknown (also negative) status code: ``Unset``.
- token counts (``gen_ai.usage.*_tokens``) that are no integer or exceed a BIGINT: the
  attribute is kept, the typed column is NULL.
- a string field that is not UTF-8 (protobuf) or JSON that is not UTF-8 or holds a lone
  surrogate: the whole request is refused with 400 (protobuf's parser refuses it; nothing
  of it is stored), as is nesting deeper than the parsers allow (protobuf: 31 kvlist or 47
  array levels inside an attribute; JSON: as deep as json_format allows); never a 5xx.
- a body over the limit (also after gzip): 413, nothing stored.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from crewscope.exporter.receiver.otlp_decode import BadPayload, decode_traces
from crewscope.exporter.span_rows import MAX_TIMESTAMP_NS
from crewscope.exporter.store import SpanStore
from tests.inputs import wire
from tests.inputs.conftest import SETTINGS, Receiver, fresh_trace_id
from tests.inputs.values import (
    Value,
    attributes,
    expected_map,
    expected_tokens,
    key_values,
    same,
    texts,
    values,
)

MAX = MAX_TIMESTAMP_NS
U64 = 2**64 - 1
NOW = 1_750_000_000_000_000_000  # 2025-06-15, fixed: runs are deterministic
KINDS = {0: "Unspecified", 1: "Internal", 2: "Server", 3: "Client", 4: "Producer", 5: "Consumer"}
STATUSES = {0: "Unset", 1: "Ok", 2: "Error"}

times = st.one_of(
    st.sampled_from([0, 1, NOW, MAX - 1, MAX, MAX + 1, U64]),
    st.integers(NOW - 10**15, NOW + 10**15),
    st.integers(0, MAX),
    st.integers(MAX + 1, U64),
)


@dataclass
class SpanSpec:
    trace_id: bytes
    span_id: bytes
    parent: bytes
    name: str
    kind: int
    status: int
    message: str
    trace_state: str
    start: int
    end: int
    attrs: list[tuple[str, Value]]
    events: list[tuple[int, str, list[tuple[str, Value]]]] = field(default_factory=list)
    links: list[tuple[bytes, bytes, str, list[tuple[str, Value]]]] = field(default_factory=list)

    def message_(self) -> Span:
        span = Span(
            trace_id=self.trace_id, span_id=self.span_id, parent_span_id=self.parent,
            name=self.name, kind=self.kind, trace_state=self.trace_state,  # type: ignore[arg-type]
            start_time_unix_nano=self.start, end_time_unix_nano=self.end,
            attributes=key_values(self.attrs),
        )  # fmt: skip
        span.status.code = self.status  # type: ignore[assignment]
        span.status.message = self.message
        for t, name, attrs in self.events:
            span.events.add(time_unix_nano=t, name=name, attributes=key_values(attrs))
        for tid, sid, state, attrs in self.links:
            span.links.add(
                trace_id=tid, span_id=sid, trace_state=state, attributes=key_values(attrs)
            )
        return span

    @property
    def bad_ids(self) -> bool:
        return len(self.trace_id) != 16 or not any(self.trace_id) or len(self.span_id) != 8

    @property
    def too_late(self) -> bool:
        return max(self.start, self.end, *(t for t, _, _ in self.events)) > MAX


@dataclass
class Batch:
    trace_id: bytes
    resource: list[tuple[str, Value]]
    scope: tuple[str, str]
    spans: list[SpanSpec]

    def request(self) -> ExportTraceServiceRequest:
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.extend(key_values(self.resource))
        ss = rs.scope_spans.add()
        ss.scope.name, ss.scope.version = self.scope
        ss.spans.extend(s.message_() for s in self.spans)
        return request

    def expected(self) -> tuple[list[dict[str, Any]], int]:
        """Rows the file must hold for this trace id, and how many spans are rejected."""
        stored = [s for s in self.spans if not s.bad_ids and not s.too_late]
        return [expected_row(self, s) for s in stored], len(self.spans) - len(stored)


def expected_row(batch: Batch, s: SpanSpec) -> dict[str, Any]:
    attrs = expected_map(s.attrs)
    resource = expected_map(batch.resource)
    return {
        "Timestamp": s.start,
        "TraceId": s.trace_id.hex(),
        "SpanId": s.span_id.hex(),
        "ParentSpanId": s.parent.hex() if len(s.parent) == 8 else "",
        "TraceState": s.trace_state,
        "SpanName": s.name,
        "SpanKind": KINDS.get(s.kind, "Unspecified"),
        "ServiceName": resource.get("service.name"),
        "ResourceAttributes": resource,
        "ScopeName": batch.scope[0] or None,
        "ScopeVersion": batch.scope[1] or None,
        "SpanAttributes": attrs,
        "Duration": max(0, s.end - s.start),
        "StatusCode": STATUSES.get(s.status, "Unset"),
        "StatusMessage": s.message or None,
        "Events": [{"t": t, "n": n, "a": expected_map(a)} for t, n, a in s.events],
        "Links": [
            {"t": tid.hex(), "s": sid.hex(), "ts": state or None, "a": expected_map(a)}
            for tid, sid, state, a in s.links
        ],
        "GenAiOperation": attrs.get("gen_ai.operation.name"),
        "CrewName": attrs.get("crewai.crew.name") or attrs.get("gen_ai.workflow.name"),
        "TaskName": attrs.get("crewai.task.name"),
        "AgentName": attrs.get("gen_ai.agent.name"),
        "ToolName": attrs.get("gen_ai.tool.name"),
        "Model": attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"),
        "InputTokens": expected_tokens(attrs.get("gen_ai.usage.input_tokens")),
        "OutputTokens": expected_tokens(attrs.get("gen_ai.usage.output_tokens")),
        "ErrorType": attrs.get("error.type"),
    }


READ = """
SELECT epoch_ns("Timestamp") AS "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState",
    "SpanName", "SpanKind", "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion",
    "SpanAttributes", "Duration", "StatusCode", "StatusMessage",
    list_transform("Events", lambda e: {'t': epoch_ns(e."Timestamp"), 'n': e."Name",
                                        'a': e."Attributes"}) AS "Events",
    list_transform("Links", lambda l: {'t': l."TraceId", 's': l."SpanId", 'ts': l."TraceState",
                                       'a': l."Attributes"}) AS "Links",
    "GenAiOperation", "CrewName", "TaskName", "AgentName", "ToolName", "Model",
    "InputTokens", "OutputTokens", "ErrorType"
FROM otel_traces WHERE "TraceId" = $1
"""
READ_COLUMNS = [
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
    "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes",
    "Duration", "StatusCode", "StatusMessage", "Events", "Links", "GenAiOperation",
    "CrewName", "TaskName", "AgentName", "ToolName", "Model", "InputTokens", "OutputTokens",
    "ErrorType",
]  # fmt: skip


def stored_rows(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(READ_COLUMNS, r, strict=True)) for r in rows]


def assert_same_rows(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Equal as multisets (row order in the file is not part of the contract)."""
    assert len(got) == len(want), (len(got), len(want))
    left = list(got)
    for row in want:
        match = next((i for i, g in enumerate(left) if same(g, row)), None)
        if match is None:
            close = [g for g in left if g["SpanId"] == row["SpanId"]]
            diffs = [{k: (g[k], row[k]) for k in row if not same(g[k], row[k])} for g in close]
            raise AssertionError(f"span {row['SpanId']} not stored as sent: {diffs}")
        left.pop(match)


def small_attributes() -> st.SearchStrategy[list[tuple[str, Value]]]:
    return st.lists(st.tuples(texts, values(4)), max_size=2)


@st.composite
def batches(draw: st.DrawFn, trace_id: bytes | None = None) -> Batch:
    """A request of 1-4 spans of one fresh trace, with every edge listed in the module doc."""
    trace_id = trace_id or fresh_trace_id()
    specs: list[SpanSpec] = []
    for _ in range(draw(st.integers(1, 4))):
        seen = [s.span_id for s in specs]
        span_id = draw(
            st.one_of(st.binary(min_size=8, max_size=8), st.sampled_from(seen))
            if seen else st.binary(min_size=8, max_size=8)
        )  # fmt: skip
        parent = draw(
            st.one_of(
                st.just(b""),
                st.sampled_from(seen or [b""]),  # a parent sent in this request
                st.binary(min_size=8, max_size=8),  # a parent never sent
                st.just(span_id),  # itself
                st.binary(min_size=1, max_size=12).filter(lambda b: len(b) != 8),  # malformed
            )
        )
        bad = draw(st.integers(0, 9)) == 0
        tid = trace_id
        if bad:  # a malformed trace or span id: only this span is rejected
            tid = draw(
                st.one_of(
                    st.just(bytes(16)),
                    st.binary(max_size=24).filter(lambda b: len(b) != 16),
                )
            )
            if draw(st.booleans()):
                tid, span_id = trace_id, draw(st.binary(max_size=12).filter(lambda b: len(b) != 8))
        start = draw(times)
        end = draw(
            st.one_of(
                times,
                st.integers(-(10**12), 10**12).map(lambda d, s=start: min(U64, max(0, s + d))),
            )
        )
        specs.append(
            SpanSpec(
                trace_id=tid,
                span_id=span_id,
                parent=parent,
                name=draw(texts),
                kind=draw(st.integers(-1, 7)),
                status=draw(st.integers(-2, 4)),
                message=draw(texts),
                trace_state=draw(st.sampled_from(["", "k=v", "a=1,b=2"])),
                start=start,
                end=end,
                attrs=draw(attributes),
                events=draw(st.lists(st.tuples(times, texts, small_attributes()), max_size=2)),
                links=draw(
                    st.lists(
                        st.tuples(
                            st.binary(max_size=20),
                            st.binary(max_size=10),
                            st.sampled_from(["", "x=y"]),
                            small_attributes(),
                        ),
                        max_size=2,
                    )
                ),  # fmt: skip
            )
        )
    resource = draw(attributes) + draw(
        st.sampled_from([[], [("service.name", ("string", "svc"))], [("service.name", ("int", 7))]])
    )
    scope = (draw(texts), draw(st.sampled_from(["", "1.0"])))
    return Batch(trace_id, resource, scope, specs)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with SpanStore(str(tmp_path_factory.mktemp("rows") / "rows.duckdb")) as store:
        yield store


def _read(store: SpanStore, trace_id: bytes) -> list[dict[str, Any]]:
    cur = store.cursor()
    try:
        return stored_rows(cur.execute(READ, [trace_id.hex()]).fetchall())
    finally:
        cur.close()


@settings(SETTINGS, max_examples=80)
@given(batch=batches(), encoding=st.sampled_from(["protobuf", "json"]))
def test_decoded_rows_are_stored_as_sent(store: SpanStore, batch: Batch, encoding: str) -> None:
    """Row conversion alone (no HTTP): decode -> Arrow -> DuckDB -> read back."""
    data, headers = wire.body(batch.request(), encoding)
    decoded = decode_traces(data, headers["Content-Type"])
    want, rejected = batch.expected()
    assert (decoded.accepted, decoded.rejected) == (len(want), rejected)
    store.append(decoded.table)
    assert_same_rows(_read(store, batch.trace_id), want)


@settings(SETTINGS, max_examples=40)
@given(batch=batches(), encoding=st.sampled_from(wire.ENCODINGS))
def test_receiver_stores_every_valid_span_and_says_why_it_rejects(
    receiver: Receiver, batch: Batch, encoding: str
) -> None:
    """Through POST /v1/traces: 200 only once stored; rejected spans cost only themselves."""
    data, headers = wire.body(batch.request(), encoding)
    r = receiver.client.post("/v1/traces", content=data, headers=headers)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    want, rejected = batch.expected()
    partial = wire.reply(r, ExportTraceServiceResponse).partial_success  # type: ignore[attr-defined]
    assert partial.rejected_spans == rejected
    if rejected:
        too_late = sum(1 for s in batch.spans if not s.bad_ids and s.too_late)
        assert ("the latest the store holds" in partial.error_message) == bool(too_late)
        assert ("invalid trace or span ids" in partial.error_message) == (too_late < rejected)
    else:
        assert partial.error_message == ""
    assert_same_rows(stored_rows(receiver.rows(READ, [batch.trace_id.hex()])), want)


# Non-UTF-8 strings: only a hand-made encoder (Go, C++) can write them.

STRING_FIELDS = ("span name", "attribute key", "attribute value", "resource value",
                 "event name", "status message", "scope name", "nested value")  # fmt: skip
MARK = "\u2603MARK\u2603"  # 11 bytes of UTF-8, found nowhere else in the body


def _with_mark(where: str) -> ExportTraceServiceRequest:
    batch = Batch(fresh_trace_id(), [("service.name", ("string", "svc"))], ("scope", ""), [])
    span = SpanSpec(batch.trace_id, b"\x01" * 8, b"", "span", 1, 0, "", "", NOW, NOW + 1,
                    [("a", ("string", "x"))])  # fmt: skip
    batch.spans.append(span)
    if where == "span name":
        span.name = MARK
    elif where == "attribute key":
        span.attrs = [(MARK, ("string", "x"))]
    elif where == "attribute value":
        span.attrs = [("a", ("string", MARK))]
    elif where == "resource value":
        batch.resource = [("service.name", ("string", MARK))]
    elif where == "event name":
        span.events = [(NOW, MARK, [])]
    elif where == "status message":
        span.message = MARK
    elif where == "scope name":
        batch.scope = (MARK, "")
    else:
        span.attrs = [("a", ("kvlist", [("k", ("array", [("string", MARK)]))]))]
    return batch.request()


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@settings(SETTINGS, max_examples=30)
@given(
    where=st.sampled_from(STRING_FIELDS),
    junk=st.binary(min_size=11, max_size=11).filter(_not_utf8),
    gzipped=st.booleans(),
)
def test_non_utf8_strings_are_refused_whole_with_400(
    receiver: Receiver, where: str, junk: bytes, gzipped: bool
) -> None:
    request = _with_mark(where)
    mark = MARK.encode()
    good = request.SerializeToString()
    assert good.count(mark) == 1
    data = good.replace(mark, junk)
    for content_type in (wire.PROTOBUF, wire.JSON):
        if content_type == wire.JSON:  # the JSON body with the same bytes in the same string
            data = wire.otlp_json(request).replace(mark, junk)
        headers = {"Content-Type": content_type}
        if gzipped:
            body, headers = gzip.compress(data, 1), {**headers, "Content-Encoding": "gzip"}
        else:
            body = data
        before = receiver.count("otel_traces")
        r = receiver.client.post("/v1/traces", content=body, headers=headers)
        assert r.status_code == 400, (where, content_type, r.status_code, r.text[:300])
        reason = wire.error_message(r)
        assert reason.startswith(("invalid OTLP protobuf", "invalid JSON")), reason
        assert receiver.count("otel_traces") == before


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ud83d x"])
def test_json_lone_surrogates_are_refused_with_400(receiver: Receiver, escape: str) -> None:
    """``"\\ud800"`` is valid JSON text but no Unicode string: it cannot be stored as UTF-8."""
    request = _with_mark("attribute value")
    data = wire.otlp_json(request).replace(MARK.encode(), escape.encode())
    r = receiver.client.post("/v1/traces", content=data, headers={"Content-Type": wire.JSON})
    assert r.status_code == 400, r.text
    assert wire.error_message(r).startswith("invalid OTLP/JSON")


# Deep nesting.


def _span_with_raw_attribute(trace_id: bytes, any_value: bytes) -> bytes:
    """An export request whose one span has attribute ``deep`` = the raw `any_value` bytes."""
    span = Span(trace_id=trace_id, span_id=b"\x02" * 8, name="deep",
                start_time_unix_nano=NOW, end_time_unix_nano=NOW + 1)  # fmt: skip
    span_bytes = span.SerializeToString() + wire.field(
        9, wire.field(1, b"deep") + wire.field(2, any_value)
    )
    return wire.field(
        1, wire.field(2, wire.field(2, span_bytes))
    )  # resource_spans.scope_spans.spans


def _nested_text(depth: int, kind: str) -> str:
    """What `attr_to_str` stores for the nested value (written as text, like the body)."""
    if depth == 0:
        return "leaf"
    head, tail = ('{"k": ', "}") if kind == "kvlist" else ("[", "]")
    return head * depth + '"leaf"' + tail * depth


PROTOBUF_DEPTH = {"kvlist": 31, "array": 47}
"""Levels inside an attribute that upb's parser accepts (message depth limit 100: a kvlist
level is 3 messages deep, an array level 2)."""


@settings(SETTINGS, max_examples=40)
@given(depth=st.integers(0, 120), kind=st.sampled_from(["kvlist", "array"]),
       encoding=st.sampled_from(["protobuf", "json"]))  # fmt: skip
def test_deep_values_are_stored_or_refused_with_400(
    receiver: Receiver, depth: int, kind: str, encoding: str
) -> None:
    """Nested as deep as the parser allows: stored as JSON text; deeper: 400, nothing stored."""
    trace_id = fresh_trace_id()
    raw = (wire.nested_kvlist if kind == "kvlist" else wire.nested_array)(depth)
    data = _span_with_raw_attribute(trace_id, raw)
    content_type = wire.PROTOBUF
    if encoding == "json":  # the same request as OTLP/JSON, the nesting written as text
        content_type = wire.JSON
        placeholder = _span_with_raw_attribute(trace_id, wire.field(1, b"PLACE"))
        document = wire.otlp_json(ExportTraceServiceRequest.FromString(placeholder))
        data = document.replace(b'{"stringValue": "PLACE"}', wire.json_nested(depth, kind).encode())
        assert data != document
    r = receiver.client.post("/v1/traces", content=data, headers={"Content-Type": content_type})
    stored = receiver.rows(
        """SELECT "SpanAttributes"['deep'] FROM otel_traces WHERE "TraceId" = $1""",
        [trace_id.hex()],
    )
    if r.status_code == 200:
        assert stored == [(_nested_text(depth, kind),)]
    else:
        assert r.status_code == 400, (depth, kind, encoding, r.status_code, r.text[:300])
        assert wire.error_message(r).startswith(("invalid OTLP", "invalid JSON"))
        assert stored == []
    if encoding == "protobuf":  # the limit is the parser's, documented here
        assert (r.status_code == 200) == (depth <= PROTOBUF_DEPTH[kind])


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,  # 100 kB of nesting: Python's json recursion limit, then ours
        b'{"resourceSpans":' * 50_000 + b"{}" + b"}" * 50_000,
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":'
        + wire.json_nested(5_000, "array").encode()
        + b"}]}]}]}]}",
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":'
        + wire.json_nested(400, "kvlist").encode()
        + b"}]}]}]}]}",
    ],
    ids=["brackets", "objects", "array-5000", "kvlist-400"],
)
def test_json_nested_past_the_recursion_limit_is_400(receiver: Receiver, body: bytes) -> None:
    """Was a 500 (RecursionError escaped the decoder, in the decode worker)."""
    before = receiver.count("otel_traces")
    r = receiver.client.post("/v1/traces", content=body, headers={"Content-Type": wire.JSON})
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert (
        "nested too deeply" in wire.error_message(r) or "recursion" in wire.error_message(r).lower()
    )
    assert receiver.count("otel_traces") == before


def test_json_nested_past_the_recursion_limit_is_400_without_http() -> None:
    with pytest.raises(BadPayload, match="nested too deeply"):
        decode_traces(b"[" * 100_000, wire.JSON)


# Size.


def test_huge_values_and_many_attributes_are_stored_whole(receiver: Receiver) -> None:
    """A 6 MiB attribute value, a 1 MiB span name, 20000 attributes, 2000 events: stored
    whole (the API's span tree shows the first 1000 characters of each value)."""
    trace_id = fresh_trace_id()
    big = "\u00e9" * (3 * 1024 * 1024)  # 6 MiB of UTF-8
    many = [(f"k{i}", ("int", i)) for i in range(20_000)]
    span = SpanSpec(trace_id, b"\x03" * 8, b"", "n" * (1024 * 1024), 1, 0, "", "", NOW,
                    NOW + 10**9, [("big", ("string", big)), *many],
                    events=[(NOW + i, f"e{i}", []) for i in range(2000)])  # fmt: skip
    batch = Batch(trace_id, [], ("", ""), [span])
    for encoding in ("protobuf+gzip", "json"):
        data, headers = wire.body(batch.request(), encoding)
        r = receiver.client.post("/v1/traces", content=data, headers=headers)
        assert r.status_code == 200, r.text[:300]
    [(n, length, attrs, events, name_length)] = receiver.rows(
        """SELECT count(*), max(length("SpanAttributes"['big'])), max(cardinality("SpanAttributes")),
                  max(len("Events")), max(length("SpanName"))
           FROM otel_traces WHERE "TraceId" = $1""",
        [trace_id.hex()],
    )
    assert (n, length, attrs, events, name_length) == (2, len(big), 20_001, 2000, 1024 * 1024)
    [(value, k7)] = receiver.rows(
        """SELECT any_value("SpanAttributes"['big']) = $2, any_value("SpanAttributes"['k19999'])
           FROM otel_traces WHERE "TraceId" = $1""",
        [trace_id.hex(), big],
    )
    assert (value, k7) == (True, "19999")


def test_oversize_bodies_are_413_and_store_nothing(receiver: Receiver) -> None:
    limit = receiver.app.state.receiver.config.max_body_bytes
    trace_id = fresh_trace_id()
    span = SpanSpec(trace_id, b"\x04" * 8, b"", "big", 1, 0, "", "", NOW, NOW + 1,
                    [("v", ("string", "x" * (limit + 1)))])  # fmt: skip
    request = Batch(trace_id, [], ("", ""), [span]).request()
    for encoding in ("protobuf", "protobuf+gzip", "json+gzip"):
        data, headers = wire.body(request, encoding)
        r = receiver.client.post("/v1/traces", content=data, headers=headers)
        assert r.status_code == 413, (encoding, r.status_code)
        assert "exceeds the limit" in wire.error_message(r)
    assert receiver.rows(
        'SELECT count(*) FROM otel_traces WHERE "TraceId" = $1', [trace_id.hex()]
    ) == [(0,)]


def test_duplicates_across_requests_and_timestamp_edges(receiver: Receiver) -> None:
    """The named edges, once each: 0, 2**63 - 2 (stored), 2**63 - 1 and 2**64 - 1 (rejected),
    the same span id in two requests (two rows), end far beyond (the long duration)."""
    trace_id = fresh_trace_id()

    def spec(sid: int, start: int, end: int) -> SpanSpec:
        return SpanSpec(trace_id, sid.to_bytes(8, "big"), b"", f"s{sid}", 1, 1, "", "", start,
                        end, [])  # fmt: skip

    first = Batch(trace_id, [], ("", ""), [spec(1, 0, 0), spec(2, MAX, MAX), spec(3, 0, MAX),
                                            spec(4, MAX + 1, MAX + 1), spec(5, NOW, U64),
                                            spec(6, U64, 0), spec(7, NOW, NOW - 5)])  # fmt: skip
    again = Batch(trace_id, [], ("", ""), [spec(1, 0, 0)])
    for batch in (first, again):
        data, headers = wire.body(batch.request(), "protobuf")
        r = receiver.client.post("/v1/traces", content=data, headers=headers)
        assert r.status_code == 200
    stored = receiver.rows(
        """SELECT "SpanId", epoch_ns("Timestamp"), "Duration" FROM otel_traces
           WHERE "TraceId" = $1 ORDER BY 1""",
        [trace_id.hex()],
    )
    sid = [i.to_bytes(8, "big").hex() for i in range(8)]
    assert stored == [(sid[1], 0, 0), (sid[1], 0, 0), (sid[2], MAX, 0), (sid[3], 0, MAX),
                      (sid[7], NOW, 0)]  # fmt: skip


def test_every_endpoint_still_answers_after_odd_input(receiver: Receiver) -> None:
    """After everything above landed in the file (module order), no GET of the API fails:
    odd rows poison neither the projections nor the reads."""
    document = receiver.app.openapi()
    failures = []
    for path, item in document["paths"].items():
        if "get" not in item or "{" in path or not path.startswith("/api/"):
            continue
        r = receiver.client.get(path)
        if r.status_code >= 500:
            failures.append((path, r.status_code, r.text[:200]))
    assert failures == []
