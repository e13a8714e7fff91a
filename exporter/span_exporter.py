"""`DuckDBSpanExporter`: OTel SDK span batches into the ``otel_traces`` table of a DuckDB file."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link
from opentelemetry.util.types import Attributes

from crewscope.exporter.attr_values import attr_to_str, string_attrs
from crewscope.exporter.opener import WriteStats
from crewscope.exporter.pricing import preload as preload_pricing
from crewscope.exporter.sdk_exporter import WriterExporter, WriterOptions
from crewscope.exporter.span_rows import (
    ARROW_SCHEMA,
    KIND_NAMES,
    STATUS_NAMES,
    SpanColumns,
    promote,
)
from crewscope.exporter.store import SpanStore

if TYPE_CHECKING:
    from typing_extensions import Unpack

logger = logging.getLogger(__name__)


@dataclass
class ExporterStats(WriteStats, items="spans"):
    """The span exporter's counters (see `WriteStats`)."""

    spans_written: int = 0
    spans_dropped: int = 0


class DuckDBSpanExporter(WriterExporter[ExporterStats], SpanExporter):
    """Writes each span batch to DuckDB as one committed Arrow insert.

    The file opens on the first export. If another process holds it, exports return
    FAILURE (counted in `stats`) after one warning, and opening is retried at most every
    `retry_interval_s` seconds, so the app carries on and recovers when the lock goes.
    """

    _what, _stats_type = "spans", ExporterStats

    def __init__(self, path: str | None = None, **options: Unpack[WriterOptions]) -> None:
        preload_pricing()  # never import it first on the export thread (see pricing.preload)
        super().__init__(path, **options)

    @property
    def store(self) -> SpanStore | None:
        """The open store (e.g. for an in-process query API to take a `cursor()`), or None."""
        return self._writer.store

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write `spans`; never raises. FAILURE means the batch was not stored."""
        stored = self._stored_rows(spans, "otel_traces", spans_to_table)
        return SpanExportResult.SUCCESS if stored else SpanExportResult.FAILURE


def spans_to_table(spans: Sequence[ReadableSpan]) -> tuple[pa.Table, int]:
    """Convert a batch; returns the table and how many spans could not be converted.

    The whole batch takes the fast path; if anything in it is malformed, spans are retried
    one by one so that a bad span costs only itself.
    """
    cols = SpanColumns()
    try:
        _add_sdk_spans(cols, spans)
        return cols.to_table(), 0
    except Exception:  # spans carry arbitrary app values: anything may fail on them
        logger.debug("batch conversion failed, retrying span by span", exc_info=True)
    tables, failed = [], 0
    for span in spans:
        one = SpanColumns()
        try:
            _add_sdk_spans(one, (span,))
            one.sanitize()
            tables.append(one.to_table())
        except Exception:  # this span cannot be stored, whatever the reason: drop only it
            failed += 1
            logger.debug(
                "dropping unconvertible span %r", getattr(span, "name", "?"), exc_info=True
            )
    return (pa.concat_tables(tables) if tables else ARROW_SCHEMA.empty_table()), failed


def _add_sdk_spans(cols: SpanColumns, spans: Iterable[ReadableSpan]) -> None:
    """Append SDK spans to `cols`: the exporter's hot path, hence the local bindings."""
    rows_add, res_add, attrs = cols.rows.append, cols.res_rows.append, cols.attrs
    kinds, statuses = _KINDS_BY_ID, _STATUS_BY_ID
    # Per-batch caches: a batch shares a few resources, traces and trace states.
    services: dict[int, str | None] = {}
    trace_hex: dict[int, str] = {}
    states: dict[int, str] = {}
    for span in spans:
        ctx = span.context
        tid = ctx.trace_id
        hex_tid = trace_hex.get(tid)
        if hex_tid is None:  # int.to_bytes().hex() is ~3x faster than format(x, "032x")
            hex_tid = trace_hex[tid] = tid.to_bytes(16, "big").hex()
        tstate = ctx.trace_state
        header = states.get(id(tstate))
        if header is None:
            header = states[id(tstate)] = tstate.to_header()
        res = span.resource
        if id(res) not in services:
            services[id(res)] = _opt_str(res.attributes.get("service.name"))
        res_add(cols.resource_index(res))
        parent = span.parent
        scope = span.instrumentation_scope
        status = span.status
        start = span.start_time or span.end_time or 0
        end = span.end_time
        raw_attrs, events, links = _span_collections(span)
        span_attrs = string_attrs(raw_attrs)
        attrs.extend(span_attrs, span_attrs.values())
        rows_add(
            (start, hex_tid, ctx.span_id.to_bytes(8, "big").hex(),
             parent.span_id.to_bytes(8, "big").hex() if parent else "", header, span.name,
             kinds.get(id(span.kind), "Unspecified"), services[id(res)],
             scope.name if scope else None, scope.version if scope else None,
             end - start if end else 0, statuses.get(id(status.status_code), "Unset"),
             status.description)
            + promote(span_attrs)
        )  # fmt: skip
        if events:
            for ev in events:
                cols.events.append((ev.timestamp, ev.name))
                cols.event_attrs.add(string_attrs(ev.attributes))
        cols.event_offsets.append(len(cols.events))
        if links:
            for link in links:
                lctx = link.context
                cols.links.append(
                    (lctx.trace_id.to_bytes(16, "big").hex(),
                     lctx.span_id.to_bytes(8, "big").hex(), lctx.trace_state.to_header())
                )  # fmt: skip
                cols.link_attrs.add(string_attrs(link.attributes))
        cols.link_offsets.append(len(cols.links))


def _span_collections(
    span: ReadableSpan,
) -> tuple[Attributes, Sequence[Event], Sequence[Link]]:
    """A span's attributes, events and links, read from the SDK's fields when possible.

    The public properties wrap attributes in a MappingProxy over a Python-level Mapping and
    copy events/links under a lock: ~5 µs per span of pure overhead, more than the rest of
    the conversion. Finished SDK spans are immutable, so reading the fields is safe.
    """
    if span.__class__ is ReadableSpan:
        events, links = span._events, span._links
        # BoundedList's len/iter are Python-level and take a lock; its deque is C-level.
        events = events._dq if events.__class__ is BoundedList else events  # type: ignore[attr-defined]
        links = links._dq if links.__class__ is BoundedList else links  # type: ignore[attr-defined]
        return span._attributes, events, links
    return span.attributes, span.events, span.links


# Enum members hash in Python (enum.__hash__); their ids hash in C.
_KINDS_BY_ID = {id(k): v for k, v in KIND_NAMES.items()}
_STATUS_BY_ID = {id(k): v for k, v in STATUS_NAMES.items()}


def _opt_str(value: object) -> str | None:
    return None if value is None else attr_to_str(value)
