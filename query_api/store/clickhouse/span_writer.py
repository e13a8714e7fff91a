"""Spans into the Collector's ``otel_traces``: crewscope's Arrow rows in the exporter's columns.

`crewscope serve --store clickhouse://...` receives OTLP like any store; `ClickHouseSpanSink`
is what its receiver appends to. The rows (`exporter.span_rows.ARROW_SCHEMA`) become the
clickhouseexporter's column set, as a stock Collector would write them: the typed copies of
hot attributes are left out (ClickHouse derives them, sql/schema.sql), ``Events`` / ``Links``
become their ``Nested`` sub-columns, NULL strings become '' and durations unsigned. One
insert per batch, acknowledged only when ClickHouse has it (``async_insert=0``).

Other instrumentations' spans (OpenInference, OpenLLMetry, OpenLIT: any scope but
crewscope's) carry what row conversion made of them (operation, model, tokens, the agent,
task and crew inherited from their batch) in those typed copies only: `with_promoted` writes
it into their attributes under the GenAI keys the views read, so ClickHouse derives the same.
After inserting such a batch, the sink names the call rows of its traces that a later span
named (`late_agents.apply_late_agents`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from crewscope.query_api.store.clickhouse.late_agents import apply_late_agents

logger = logging.getLogger(__name__)

_STR = pa.string()
_MAP = pa.map_(pa.string(), pa.string())
_TS = pa.timestamp("ns")
_OWN_SCOPE = "crewscope"
PROMOTED_KEYS = (
    ("GenAiOperation", "gen_ai.operation.name"), ("CrewName", "crewai.crew.name"),
    ("TaskName", "crewai.task.name"), ("AgentName", "gen_ai.agent.name"),
    ("ToolName", "gen_ai.tool.name"), ("InputTokens", "gen_ai.usage.input_tokens"),
    ("OutputTokens", "gen_ai.usage.output_tokens"), ("ErrorType", "error.type"),
)  # fmt: skip
"""Typed copy -> the attribute it stands for; row conversion's value replaces the span's."""
FALLBACK_KEYS = (
    ("Model", ("gen_ai.response.model", "gen_ai.request.model")),
    ("ProviderName", ("gen_ai.provider.name", "gen_ai.system")),
)
"""Typed copies written under the last key when the span has none of the keys."""
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


def _promoted_attrs(attrs: dict[str, str], typed: dict[str, object]) -> dict[str, str]:
    for column, key in PROMOTED_KEYS:
        value = typed.get(column)
        if value is not None:
            attrs[key] = str(value)
        elif column == "GenAiOperation" and key in attrs:
            attrs[key] = ""  # conversion made it no call (it wrapped the real ones)
    for column, keys in FALLBACK_KEYS:
        value = typed.get(column)
        if value is not None and not any(attrs.get(k) for k in keys):
            attrs[keys[-1]] = str(value)
    return attrs


def _peers(
    table: pa.Table, columns: list[str], more: Callable[[], pa.Array] | None = None
) -> pa.Array | None:
    """Whether each span is another instrumentation's (its scope is not crewscope's) with
    one of `columns` set (or one of `more`, computed from the batch only if it holds such
    spans): spans of no GenAI shape (HTTP, ...) are left as they are. None when the batch
    has no such span."""
    scope = pc.fill_null(table.column("ScopeName").cast(_STR), "")
    other = pc.invert(pc.starts_with(scope, _OWN_SCOPE))
    if not pc.any(other).as_py():  # crewscope's own spans: nothing more is read
        return None
    arrays = [table.column(c) for c in columns] + ([more()] if more else [])
    typed = pc.is_valid(arrays[0])
    for arr in arrays[1:]:
        typed = pc.or_(typed, pc.is_valid(arr))
    peer = pc.and_(other, typed)
    return peer if pc.any(peer).as_py() else None


def peer_trace_ids(table: pa.Table) -> list[str]:
    """The trace ids of the other instrumentations' GenAI spans (those naming an agent, the
    LLM and tool calls, ...) of a batch."""
    if "GenAiOperation" not in table.column_names:
        return []
    peer = _peers(table, ["AgentName", "GenAiOperation"])
    if peer is None:
        return []
    return pc.unique(table.column("TraceId").filter(peer)).to_pylist()  # type: ignore[no-any-return]


def with_promoted(table: pa.Table) -> pa.Table:
    """`table` with the typed copies of other instrumentations' spans written into their
    ``SpanAttributes`` (module doc); a batch of crewscope's own spans is returned as it is."""
    if "GenAiOperation" not in table.column_names:
        return table
    columns = [c for c, _ in PROMOTED_KEYS] + [c for c, _ in FALLBACK_KEYS]
    peer = _peers(table, columns, lambda: _operation(table))
    if peer is None:
        return table
    typed = table.select(columns).to_pylist()
    maps = table.column("SpanAttributes").to_pylist()
    out = []
    for is_peer, attrs, values in zip(peer.to_pylist(), maps, typed, strict=True):
        if is_peer:
            attrs = list(_promoted_attrs(dict(attrs or ()), values).items())
        out.append(attrs)
    index = table.schema.get_field_index("SpanAttributes")
    return table.set_column(index, "SpanAttributes", pa.array(out, _MAP))


def _operation(table: pa.Table) -> pa.Array:
    """Each span's ``gen_ai.operation.name`` attribute (a call that conversion made no call
    has it there only)."""
    attrs = table.column("SpanAttributes").combine_chunks()
    return pc.map_lookup(attrs, "gen_ai.operation.name", "first")


def exporter_columns(table: pa.Table) -> pa.Table:
    """crewscope span rows as the clickhouseexporter's ``otel_traces`` columns."""
    table = with_promoted(table)
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
        self.late_agents = True
        """Whether to name the call rows of a batch's traces after inserting it (not on a
        cluster: `late_agents`)."""

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
            if self.late_agents:
                self._name_late_calls(data)

    def _name_late_calls(self, data: pa.Table) -> None:
        """The call rows of the batch's traces named by a later span; the batch is stored
        already, so a failure here is logged (the next open names them)."""
        traces = peer_trace_ids(data)
        if not traces:
            return
        try:
            with self._inserts, self._guard as client:
                apply_late_agents(client, traces)
        except Exception:
            logger.warning("ClickHouse: naming the agents of late calls failed", exc_info=True)

    def close(self) -> None:
        self.closed = True
