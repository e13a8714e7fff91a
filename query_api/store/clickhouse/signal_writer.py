"""Metrics and logs into the Collector's ``otel_metrics_*`` and ``otel_logs``, as a stock
``clickhouseexporter`` writes them.

The receiver decodes OTLP into crewscope's Arrow rows (`exporter.metric_rows.SCHEMAS`,
`exporter.log_rows.LOG_ARROW_SCHEMA`, the DuckDB layout); here they become exactly the
columns of the exporter's insert templates (`exporter_ddl.insert_columns`), with the values
its Go code appends (``internal/metrics/*_metrics.go``, ``exporter_logs.go``):

- strings and maps never NULL: ``''`` / ``{}`` where crewscope keeps NULL;
- metric times in the tables' ``DateTime`` (whole seconds, as ``time.Time`` becomes a
  ``DateTime``); a point without a start time starts at the epoch;
- a histogram without sum, min or max has 0 there (``dp.Sum()``, ``dp.Min()``, ...);
- exemplars as the ``Exemplars`` ``Nested`` sub-columns, a missing trace or span id as the
  hex of the zero id;
- logs: the crewscope typed copies of attributes (``CrewName`` ...) are left out (the views
  of sql/schema_signals.sql derive them), ``EventName`` written because the table has it
  (the exporter's ``FeatureColumnNames``).

`ClickHouseSignalSink` is the store the receiver of a ClickHouse database appends to: spans
through `ClickHouseSpanSink`, the other tables here; one insert per table and batch,
acknowledged only when ClickHouse has it (``async_insert=0``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from functools import partial

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from crewscope.query_api.store.clickhouse.exporter_ddl import insert_columns
from crewscope.query_api.store.clickhouse.span_writer import ClickHouseSpanSink

_STR = pa.string()
_MAP = pa.map_(pa.string(), pa.string())
_SECONDS = pa.timestamp("s")
_ZERO_TRACE_ID = "0" * 32
_ZERO_SPAN_ID = "0" * 16

METRIC_TEMPLATES: Mapping[str, str] = {
    "otel_metrics_gauge": "metrics_gauge_insert.sql",
    "otel_metrics_sum": "metrics_sum_insert.sql",
    "otel_metrics_histogram": "metrics_histogram_insert.sql",
}
"""The metric tables the receiver writes (exponential histograms and summaries are refused
as unsupported before they get here) and the exporter's insert template of each."""
LOGS_TABLE = "otel_logs"
LOG_FEATURE_COLUMNS = ("EventName",)
"""The logs insert's ``{{.FeatureColumnNames}}``: columns the exporter adds when the table
has them (the table it creates has ``EventName``)."""
EXEMPLAR_FIELDS = ("FilteredAttributes", "TimeUnix", "Value", "SpanId", "TraceId")


def _flat(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr


def _empty_maps(n: int) -> pa.Array:
    return pa.MapArray.from_arrays(
        pa.array([0] * (n + 1), pa.int32()), pa.array([], _STR), pa.array([], _STR)
    )


def _strings(arr: pa.Array, empty: str = "") -> pa.Array:
    return pc.fill_null(arr.cast(_STR), empty)


def _maps(arr: pa.Array) -> pa.Array:
    """A string map without NULL maps, keys or values (``''`` for a NULL value)."""
    filled = pa.MapArray.from_arrays(
        arr.offsets, pc.fill_null(arr.keys, ""), pc.fill_null(arr.items, "")
    )
    if not arr.null_count:
        return filled
    return pc.if_else(pc.is_null(arr), _empty_maps(len(arr)), filled)


def _seconds(arr: pa.Array) -> pa.Array:
    """Times as the exporter's ``DateTime`` columns hold them: whole seconds (truncated, as
    Go's ``time.Time.Unix``), the epoch for none."""
    secs = pc.cast(arr, _SECONDS, safe=False)
    return pc.fill_null(secs, pa.scalar(0, _SECONDS))


def _plain(arr: pa.Array, fill: object = 0) -> pa.Array:
    """`arr` without NULLs: ``''`` for strings (`fill` if a string), ``{}`` for maps, the
    epoch for times, ``[]`` for lists, else `fill`."""
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return _strings(arr, fill if isinstance(fill, str) else "")
    if pa.types.is_map(arr.type):
        return _maps(arr)
    if pa.types.is_timestamp(arr.type):
        return _seconds(arr)
    if pa.types.is_list(arr.type):
        if not arr.null_count:
            return arr
        return pc.if_else(pc.is_null(arr), pa.scalar([], arr.type), arr)
    return pc.fill_null(arr, pa.scalar(fill, arr.type)) if arr.null_count else arr


def _exemplars(col: pa.ChunkedArray) -> dict[str, pa.Array]:
    """``Exemplars`` (list<struct>) as ``Exemplars.TimeUnix`` (list<DateTime>), ... as the
    exporter's ``convertExemplars`` appends them."""
    arr = _flat(col)
    if arr.null_count:
        arr = pc.if_else(pc.is_null(arr), pa.scalar([], arr.type), arr)
    flat = arr.flatten()
    fills: dict[str, object] = {"Value": 0.0, "SpanId": _ZERO_SPAN_ID, "TraceId": _ZERO_TRACE_ID}
    out: dict[str, pa.Array] = {}
    for field in EXEMPLAR_FIELDS:
        values = _plain(_flat(flat.field(field)), fills.get(field, ""))
        out[f"Exemplars.{field}"] = pa.ListArray.from_arrays(arr.offsets, values)
    return out


def metric_columns(name: str, table: pa.Table) -> pa.Table:
    """crewscope metric rows of table `name` as the exporter's insert columns for it."""
    nested = _exemplars(table.column("Exemplars"))
    cols: dict[str, pa.Array] = {}
    for column in insert_columns(METRIC_TEMPLATES[name]):
        if column in nested:
            cols[column] = nested[column]
            continue
        arr = _flat(table.column(column))
        if column in ("ScopeDroppedAttrCount", "Flags"):
            arr = arr.cast(pa.uint32())
        elif column == "Count":
            arr = arr.cast(pa.uint64())
        elif column == "AggregationTemporality":
            arr = arr.cast(pa.int32())
        cols[column] = _plain(arr, False if column == "IsMonotonic" else 0)
    return pa.table(cols)


def log_columns(table: pa.Table) -> pa.Table:
    """crewscope log rows as the exporter's ``otel_logs`` insert columns."""
    cols: dict[str, pa.Array] = {}
    for column in (*insert_columns("logs_insert.sql"), *LOG_FEATURE_COLUMNS):
        arr = _flat(table.column(column))
        if column == "Timestamp":  # DateTime64(9): every digit kept
            cols[column] = arr.cast(pa.timestamp("ns"))
            continue
        if column in ("TraceFlags", "SeverityNumber"):  # the exporter's uint8(...)
            arr = pc.bit_wise_and(pc.fill_null(arr, 0).cast(pa.int64()), 0xFF).cast(pa.uint8())
        cols[column] = _plain(arr, 0)
    return pa.table(cols)


Convert = Callable[[pa.Table], pa.Table]


class ClickHouseSignalSink(ClickHouseSpanSink):
    """The receiver's store on ClickHouse: spans, metric points and log records, each into
    the exporter's table of its kind."""

    def __init__(self, guard: AbstractContextManager[Client]) -> None:
        super().__init__(guard)
        self._converters: dict[str, Convert] = {
            LOGS_TABLE: log_columns,
            **{name: partial(metric_columns, name) for name in METRIC_TEMPLATES},
        }

    def append_tables(self, tables: Mapping[str, pa.Table]) -> None:
        """Insert each table (spans, ``otel_metrics_*``, ``otel_logs``); returning means
        ClickHouse has every row (no transaction spans tables: each insert is atomic)."""
        for name, data in tables.items():
            if not data.num_rows:
                continue
            if name == "otel_traces":
                super().append_tables({name: data})
                continue
            convert = self._converters.get(name)
            if convert is None:
                raise ValueError(f"{name}: not a table the receiver writes to ClickHouse")
            self._insert(name, convert(data))
