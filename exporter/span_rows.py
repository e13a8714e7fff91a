"""Spans -> one Arrow table in the ``otel_traces`` layout of sql/schema.sql (pure, no I/O).

Every ingest path fills a `SpanColumns` and calls `to_table()`, so all write identical rows:
the in-process exporter from SDK spans (`span_exporter.spans_to_table`), the OTLP receiver
through `SpanColumns.add_span(...)` with plain values (each ``AnyValue`` through
`attr_values.attr_to_str`, ids as lowercase hex: ``bytes.hex()``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import SpanKind, StatusCode

from crewscope.exporter import peer_spans, peer_traces
from crewscope.exporter.attr_values import string_attrs
from crewscope.exporter.flat_maps import FlatMaps
from crewscope.exporter.operations import EMBEDDINGS_OPERATION, LLM_OPERATION_SET
from crewscope.exporter.peer_spans import SOURCE_ATTRIBUTE, recognise
from crewscope.exporter.peer_traces import Node
from crewscope.exporter.pricing import cost_usd

_TS = pa.timestamp("ns")
_STR = pa.string()
_MAP = pa.map_(pa.string(), pa.string())
_EVENT = pa.struct([("Timestamp", _TS), ("Name", _STR), ("Attributes", _MAP)])
_LINK = pa.struct([("TraceId", _STR), ("SpanId", _STR), ("TraceState", _STR), ("Attributes", _MAP)])

PROMOTED_COLUMNS = (
    "GenAiOperation", "CrewName", "TaskName", "AgentName", "ToolName", "Model",
    "ProviderName", "InputTokens", "OutputTokens", "CostUsd", "ErrorType",
)  # fmt: skip
"""The typed copies of hot attributes, in table order; `promote` returns them in this order."""

_PROMOTED_TYPES = {"InputTokens": pa.int64(), "OutputTokens": pa.int64(), "CostUsd": pa.float64()}

ARROW_SCHEMA = pa.schema(
    [
        pa.field("Timestamp", _TS, nullable=False),
        pa.field("TraceId", _STR, nullable=False),
        pa.field("SpanId", _STR, nullable=False),
        pa.field("ParentSpanId", _STR, nullable=False),
        pa.field("TraceState", _STR),
        pa.field("SpanName", _STR, nullable=False),
        pa.field("SpanKind", _STR, nullable=False),
        pa.field("ServiceName", _STR),
        pa.field("ResourceAttributes", pa.dictionary(pa.int32(), _MAP)),  # see SpanColumns
        pa.field("ScopeName", _STR),
        pa.field("ScopeVersion", _STR),
        pa.field("SpanAttributes", _MAP),
        pa.field("Duration", pa.int64(), nullable=False),
        pa.field("StatusCode", _STR, nullable=False),
        pa.field("StatusMessage", _STR),
        pa.field("Events", pa.list_(_EVENT)),
        pa.field("Links", pa.list_(_LINK)),
        *(pa.field(c, _PROMOTED_TYPES.get(c, _STR)) for c in PROMOTED_COLUMNS),
    ]
)
"""Arrow schema of ``otel_traces``: same names, order and types as sql/schema.sql."""

KIND_NAMES = {
    SpanKind.INTERNAL: "Internal",
    SpanKind.SERVER: "Server",
    SpanKind.CLIENT: "Client",
    SpanKind.PRODUCER: "Producer",
    SpanKind.CONSUMER: "Consumer",
}
STATUS_NAMES = {StatusCode.UNSET: "Unset", StatusCode.OK: "Ok", StatusCode.ERROR: "Error"}

MAX_TIMESTAMP_NS = 2**63 - 2
"""The latest instant a ``TIMESTAMP_NS`` column holds (2262-04-11T23:47:16.854775806Z): DuckDB
reads 2**63 - 1 as ``infinity`` and Arrow refuses anything larger. Receivers reject items
with a time beyond it (OTLP times are unsigned 64-bit) rather than store another instant."""

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _int(value: str | None) -> int | None:
    """A token count from its stored string ("12", also "12.0"); None if absent, junk or
    beyond a BIGINT (the typed columns are BIGINT: such a count must not fail the batch)."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        try:
            number = int(float(value))
        except (ValueError, OverflowError):  # "abc", "inf"
            return None
    return number if _INT64_MIN <= number <= _INT64_MAX else None


Promoted = tuple[
    str | None, str | None, str | None, str | None, str | None, str | None, str | None,
    int | None, int | None, float | None, str | None,
]  # fmt: skip
"""The `PROMOTED_COLUMNS` values of one span, in the same order."""

Row = tuple[object, ...]
"""One span's scalar columns (`_SCALARS` order), as collected by `SpanColumns`."""


def promote(attrs: Mapping[str, str]) -> Promoted:
    """The `PROMOTED_COLUMNS` values for one span, from its string attributes.

    The span's shape (crewscope's, another instrumentation's: `peer_spans.recognise`) says
    where each value is. CostUsd is filled only for single-call spans (chat, ...) with a
    model and tokens; embeddings calls are priced on their input tokens only. What needs
    the span's enclosing spans (an agent named on the parent) is filled per batch, in
    `SpanColumns.to_table` (`peer_traces.resolve`).
    """
    (op, crew, task, agent, tool, model, provider, in_str, out_str, cache_read, cache_write,
     _source) = recognise(attrs)  # fmt: skip
    in_tok = _int(in_str)
    out_tok = _int(out_str)
    cost = None
    if model and (op is None or op in LLM_OPERATION_SET):
        if op == EMBEDDINGS_OPERATION:
            # Nothing is generated: an output count some instrumentations still report
            # (e.g. total tokens, or the vector size) is not billable output.
            if in_tok is not None:
                cost = cost_usd(model, provider, in_tok, 0)
        elif in_tok is not None or out_tok is not None:
            cost = cost_usd(
                model,
                provider,
                in_tok or 0,
                out_tok or 0,
                _int(cache_read) or 0,
                _int(cache_write) or 0,
            )
    return (op, crew, task, agent, tool, model, provider, in_tok, out_tok, cost,
            attrs.get("error.type"))  # fmt: skip


_EMPTY: Mapping[str, str] = MappingProxyType({})

# Scalar columns, in the order of the per-span row tuples that SpanColumns collects.
_SCALARS = (
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
    "ServiceName", "ScopeName", "ScopeVersion", "Duration", "StatusCode", "StatusMessage",
    *PROMOTED_COLUMNS,
)  # fmt: skip


_NOT_NULL = [f.name for f in ARROW_SCHEMA if not f.nullable]
_I = {c: i for i, c in enumerate(_SCALARS)}
_TRACE, _SPAN, _PARENT, _NAME, _SCOPE = (
    _I["TraceId"], _I["SpanId"], _I["ParentSpanId"], _I["SpanName"], _I["ScopeName"]
)  # fmt: skip
_OP, _CREW, _TASK, _AGENT = _I["GenAiOperation"], _I["CrewName"], _I["TaskName"], _I["AgentName"]
_IN, _OUT, _COST = _I["InputTokens"], _I["OutputTokens"], _I["CostUsd"]
_OWN_SCOPE = "crewscope"


class SpanColumns:
    """One batch being built; `to_table()` turns it into an Arrow table.

    Scalars are kept as one tuple per span (transposed once, in C, by ``zip``); MAP columns
    as flat offsets/keys/values and LIST columns as offsets plus child rows, so every Arrow
    column is built by one call. Map keys must be unique per row, as DuckDB requires.
    """

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.attrs = FlatMaps()
        # ResourceAttributes is dictionary-encoded: rows point at the batch's distinct maps,
        # so DuckDB validates each map once per batch, not once per row (~2 µs/span).
        self.res_rows: list[int] = []
        self.res = FlatMaps()
        self._res_ids: dict[int, int] = {}
        self._res_refs: list[object] = []  # keeps keyed objects alive so ids stay unique
        self.event_offsets = [0]
        self.events: list[tuple[int, str]] = []
        self.event_attrs = FlatMaps()
        self.link_offsets = [0]
        self.links: list[tuple[str, str, str | None]] = []
        self.link_attrs = FlatMaps()
        self._resolved = False

    def __len__(self) -> int:
        return len(self.rows)

    def add_span(
        self,
        *,
        timestamp_ns: int,
        trace_id: str,
        span_id: str,
        parent_span_id: str,
        name: str,
        kind: str,
        duration_ns: int,
        status_code: str,
        status_message: str | None = None,
        trace_state: str | None = "",
        service_name: str | None = None,
        resource_attributes: Mapping[str, str] = _EMPTY,
        scope_name: str | None = None,
        scope_version: str | None = None,
        attributes: Mapping[str, str] = _EMPTY,
        events: Iterable[tuple[int, str, Mapping[str, str]]] = (),
        links: Iterable[tuple[str, str, str | None, Mapping[str, str]]] = (),
    ) -> None:
        """Append one span given as plain values (ids as lowercase hex, '' for no parent).

        `kind` and `status_code` are the table's strings (`KIND_NAMES`, `STATUS_NAMES`);
        attribute values are strings as made by `attr_to_str`. Events are
        ``(time_ns, name, attrs)``, links ``(trace_id, span_id, trace_state, attrs)``.
        """
        self.rows.append(
            (timestamp_ns, trace_id, span_id, parent_span_id, trace_state, name, kind,
             service_name, scope_name, scope_version, duration_ns, status_code, status_message)
            + promote(attributes)
        )  # fmt: skip
        self.res_rows.append(self.resource_index(resource_attributes))
        self.attrs.add(attributes)
        for ts, ev_name, ev_attrs in events:
            self.events.append((ts, ev_name))
            self.event_attrs.add(ev_attrs)
        self.event_offsets.append(len(self.events))
        for l_trace, l_span, l_state, l_attrs in links:
            self.links.append((l_trace, l_span, l_state))
            self.link_attrs.add(l_attrs)
        self.link_offsets.append(len(self.links))

    def resource_index(self, resource: Resource | Mapping[str, str]) -> int:
        """Index of `resource` (a Resource or a string mapping) among the batch's maps.

        Keyed by identity: pass the same mapping object for spans that share a resource.
        """
        idx = self._res_ids.get(id(resource))
        if idx is None:
            attrs = resource.attributes if isinstance(resource, Resource) else resource
            self.res.add(string_attrs(attrs))
            idx = self._res_ids[id(resource)] = len(self._res_refs)
            self._res_refs.append(resource)
        return idx

    def sanitize(self) -> None:
        """Coerce odd names and keys to strings; for the slow, span-by-span retry."""
        fields = [ARROW_SCHEMA.field(c) for c in _SCALARS]
        self.rows = [
            tuple(_coerce_str(v, f) for v, f in zip(row, fields, strict=True)) for row in self.rows
        ]
        self.events = [(ts, str(name)) for ts, name in self.events]
        for maps in (self.res, self.attrs, self.event_attrs, self.link_attrs):
            maps.keys = [str(k) for k in maps.keys]

    def resolve_peers(self, cache: peer_traces.TraceCache | None = None) -> None:
        """Complete the rows of other instrumentations' spans from their batch (and the
        process's `peer_traces.TraceCache`): inherited agent, task and crew, token totals
        from the LLM calls beneath, a known peer named in a ``crewscope.source`` attribute.

        A batch of crewscope's own spans only (scope ``crewscope.*``) is left as it is.
        `to_table` calls it; calling it again does nothing more.
        """
        if self._resolved:
            return
        self._resolved = True
        rows = self.rows
        if all(_own(r) for r in rows):
            return
        offsets, keys, values = self.attrs.offsets, self.attrs.keys, self.attrs.values
        nodes: list[Node] = []
        for i, r in enumerate(rows):
            lo, hi = offsets[i], offsets[i + 1]
            source = None
            if not _own(r):
                source = recognise(dict(zip(keys[lo:hi], values[lo:hi], strict=True))).source
            nodes.append(Node(*cast("_NodeFields", _node_fields(r)), source=source))
        peer_traces.resolve(nodes, peer_traces.DEFAULT_CACHE if cache is None else cache)
        tagged: dict[int, str] = {}
        for i, node in enumerate(nodes):
            if node.source in peer_spans.TAGGED_SOURCES:
                tagged[i] = node.source.value
            if not node.changed:
                continue
            row = list(rows[i])
            if row[_OP] != node.operation and node.operation is None:
                row[_COST] = None  # no longer a priced call (it wrapped the real ones)
            row[_OP], row[_CREW], row[_TASK], row[_AGENT] = (
                node.operation, node.crew, node.task, node.agent
            )  # fmt: skip
            row[_IN], row[_OUT] = node.input_tokens, node.output_tokens
            rows[i] = tuple(row)
        if tagged:
            self.attrs = self.attrs.with_key(SOURCE_ATTRIBUTE, tagged)

    def to_table(self) -> pa.Table:
        """The batch as a `pa.Table` with `ARROW_SCHEMA`."""
        self.resolve_peers()
        scalars = zip(*self.rows, strict=True) if self.rows else [()] * len(_SCALARS)
        cols = {
            c: pa.array(v, ARROW_SCHEMA.field(c).type)
            for c, v in zip(_SCALARS, scalars, strict=True)
        }
        for c in _NOT_NULL:  # pyarrow does not enforce nullability; DuckDB would fail the batch
            if cols[c].null_count:
                raise ValueError(f"NULL in NOT NULL column {c}")
        check_times(cols["Timestamp"], "Timestamp")
        # An end before the start (a clock stepped back) is a zero-length span, on every path.
        cols["Duration"] = pc.max_element_wise(cols["Duration"], 0)
        ev_ts, ev_name = zip(*self.events, strict=True) if self.events else ((), ())
        ev_times = pa.array(ev_ts, _TS)
        check_times(ev_times, "Events.Timestamp")
        events = pa.StructArray.from_arrays(
            [ev_times, pa.array(ev_name, _STR), self.event_attrs.array()],
            fields=list(_EVENT),
        )
        link_cols = zip(*self.links, strict=True) if self.links else ((), (), ())
        links = pa.StructArray.from_arrays(
            [*(pa.array(c, _STR) for c in link_cols), self.link_attrs.array()],
            fields=list(_LINK),
        )
        cols["ResourceAttributes"] = pa.DictionaryArray.from_arrays(
            pa.array(self.res_rows, pa.int32()), self.res.array()
        )
        cols["SpanAttributes"] = self.attrs.array()
        cols["Events"] = pa.ListArray.from_arrays(pa.array(self.event_offsets, pa.int32()), events)
        cols["Links"] = pa.ListArray.from_arrays(pa.array(self.link_offsets, pa.int32()), links)
        return pa.Table.from_arrays([cols[n] for n in ARROW_SCHEMA.names], schema=ARROW_SCHEMA)


_NodeFields = tuple[
    str, str, str, str, str | None, str | None, str | None, str | None, str | None,
    int | None, int | None,
]  # fmt: skip


def _node_fields(row: Row) -> tuple[object, ...]:
    """The `peer_traces.Node` fields of one row, in Node's order (less ``source``)."""
    return (row[_TRACE], row[_SPAN], row[_PARENT], row[_NAME], row[_SCOPE], row[_OP],
            row[_CREW], row[_TASK], row[_AGENT], row[_IN], row[_OUT])  # fmt: skip


def _own(row: Row) -> bool:
    """True for a span of crewscope's own instrumentation (by its scope)."""
    scope = row[_SCOPE]
    return isinstance(scope, str) and scope.startswith(_OWN_SCOPE)


def check_times(values: pa.Array, column: str) -> None:
    """Raise ValueError if a time in `values` is beyond what ``TIMESTAMP_NS`` holds (more
    than `MAX_TIMESTAMP_NS` from the epoch: DuckDB would store +-infinity instead)."""
    ns = values.cast(pa.int64())
    latest, earliest = pc.max(ns).as_py(), pc.min(ns).as_py()
    if (latest is not None and latest > MAX_TIMESTAMP_NS) or (
        earliest is not None and earliest < -MAX_TIMESTAMP_NS
    ):
        raise ValueError(f"{column} beyond what TIMESTAMP_NS holds")


def _coerce_str(value: object, field: pa.Field) -> object:
    if field.type != _STR or value.__class__ is str:
        return value
    if value is None:
        return None if field.nullable else ""
    return str(value)
