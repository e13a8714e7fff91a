"""Spans into the Collector's ``otel_traces``: crewscope's Arrow rows in the exporter's columns.

`crewscope serve --store clickhouse://...` receives OTLP like any store; `ClickHouseSpanSink`
is what its receiver appends to. The rows (`exporter.span_rows.ARROW_SCHEMA`) become the
clickhouseexporter's column set, as a stock Collector would write them: the typed copies of
hot attributes are left out (ClickHouse derives them, sql/schema.sql), ``Events`` / ``Links``
become their ``Nested`` sub-columns, NULL strings become '' and durations unsigned. One
insert per batch, acknowledged only when ClickHouse has it (``async_insert=0``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

_STR = pa.string()
_MAP = pa.map_(pa.string(), pa.string())
_TS = pa.timestamp("ns")
PLAIN = (
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
    "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes",
    "Duration", "StatusCode", "StatusMessage",
)  # fmt: skip
EVENT_FIELDS = ("Timestamp", "Name", "Attributes")
LINK_FIELDS = ("TraceId", "SpanId", "TraceState", "Attributes")


def _no_nulls(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return pc.fill_null(arr.cast(_STR), "")
    if pa.types.is_map(arr.type):
        keys = pc.fill_null(arr.keys, "")
        items = pc.fill_null(arr.items, "")
        offsets = arr.offsets
        empty = pa.MapArray.from_arrays(
            pa.array([0] * (len(arr) + 1), pa.int32()), pa.array([], _STR), pa.array([], _STR)
        )
        filled = pa.MapArray.from_arrays(offsets, keys, items)
        return pc.if_else(pc.is_null(arr), empty, filled) if arr.null_count else filled
    return arr


def _nested(col: pa.ChunkedArray, name: str, fields: tuple[str, ...]) -> dict[str, pa.Array]:
    """``Events`` (list<struct>) as ``Events.Timestamp`` (list<ts>), ``Events.Name``, ..."""
    arr = col.combine_chunks()
    arr = pc.if_else(pc.is_null(arr), pa.scalar([], arr.type), arr) if arr.null_count else arr
    flat = arr.flatten()
    out: dict[str, pa.Array] = {}
    for field in fields:
        values = _no_nulls(flat.field(field))
        out[f"{name}.{field}"] = pa.ListArray.from_arrays(arr.offsets, values)
    return out


def exporter_columns(table: pa.Table) -> pa.Table:
    """crewscope span rows as the clickhouseexporter's ``otel_traces`` columns."""
    cols: dict[str, pa.Array] = {}
    for name in PLAIN:
        arr = _no_nulls(table.column(name))
        if name == "Duration":
            arr = pc.max_element_wise(arr, pa.scalar(0, arr.type)).cast(pa.uint64())
        cols[name] = arr
    cols.update(_nested(table.column("Events"), "Events", EVENT_FIELDS))
    cols.update(_nested(table.column("Links"), "Links", LINK_FIELDS))
    return pa.table(cols)


class ClickHouseSpanSink:
    """What the OTLP receiver appends span batches to when the store is ClickHouse."""

    def __init__(self, guard: AbstractContextManager[Client]) -> None:
        self._guard = guard
        self._inserts = threading.Lock()  # one insert at a time per sink
        self.closed = False

    def _insert(self, table: str, rows: pa.Table) -> None:
        """Insert and return once ClickHouse has the rows (no asynchronous insert)."""
        with self._inserts, self._guard as client:
            client.insert_arrow(table, rows, settings={"async_insert": 0})

    def append(self, table: pa.Table) -> None:
        self.append_tables({"otel_traces": table})

    def append_tables(self, tables: Mapping[str, pa.Table]) -> None:
        for name, data in tables.items():
            if not data.num_rows:
                continue
            if name != "otel_traces":
                raise ValueError(f"{name}: only spans are written to ClickHouse by the receiver")
            self._insert("otel_traces", exporter_columns(data))

    def close(self) -> None:
        self.closed = True
