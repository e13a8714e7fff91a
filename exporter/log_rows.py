"""Log records -> one Arrow table in the ``otel_logs`` layout of sql/logs_schema.sql (pure).

Every ingest path fills a `LogColumns` and calls `to_table()`, so all write identical rows:
the in-process exporter from SDK records (`add_sdk_record`), any other path through
`LogColumns.add_log(...)` with plain values (attribute values through `attr_to_str`, ids as
lowercase hex, '' when absent).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from opentelemetry.sdk._logs import ReadableLogRecord

from crewscope.exporter.attr_values import attr_to_str, string_attrs
from crewscope.exporter.span_rows import check_times

logger = logging.getLogger(__name__)

_TS = pa.timestamp("ns")
_STR = pa.string()
_MAP = pa.map_(pa.string(), pa.string())

PROMOTED_LOG_COLUMNS: Mapping[str, str] = {
    "CrewName": "crewai.crew.name",
    "AgentName": "gen_ai.agent.name",
    "TaskName": "crewai.task.name",
    "RunId": "crewscope.run.id",
    "RootRunId": "crewscope.run.root_id",
}
"""Typed column -> the record attribute it copies (crewscope's log context stamps them)."""

EVENT_NAME_ATTRIBUTE = "event.name"
"""Where a record's event name lives when the SDK record has no ``event_name`` field."""

LOG_ARROW_SCHEMA = pa.schema(
    [
        pa.field("Timestamp", _TS, nullable=False),
        pa.field("TraceId", _STR, nullable=False),
        pa.field("SpanId", _STR, nullable=False),
        pa.field("TraceFlags", pa.int32(), nullable=False),
        pa.field("SeverityText", _STR),
        pa.field("SeverityNumber", pa.int32(), nullable=False),
        pa.field("ServiceName", _STR),
        pa.field("Body", _STR),
        pa.field("ResourceSchemaUrl", _STR),
        pa.field("ResourceAttributes", _MAP),
        pa.field("ScopeSchemaUrl", _STR),
        pa.field("ScopeName", _STR),
        pa.field("ScopeVersion", _STR),
        pa.field("ScopeAttributes", _MAP),
        pa.field("LogAttributes", _MAP),
        pa.field("EventName", _STR),
        *(pa.field(c, _STR) for c in PROMOTED_LOG_COLUMNS),
    ]
)
"""Arrow schema of ``otel_logs``: same names, order and types as sql/logs_schema.sql."""


def trace_id_hex(trace_id: int | None) -> str:
    """32 lowercase hex digits; '' for no trace (None or 0, the SDK's invalid id)."""
    return trace_id.to_bytes(16, "big").hex() if trace_id else ""


def span_id_hex(span_id: int | None) -> str:
    """16 lowercase hex digits; '' for no span (None or 0)."""
    return span_id.to_bytes(8, "big").hex() if span_id else ""


def body_to_str(body: object) -> str | None:
    """A record body as stored: strings as they are, maps and lists as JSON, bytes base64."""
    return attr_to_str(body)


class LogColumns:
    """Column lists for one batch of log records; `to_table()` makes the Arrow table."""

    def __init__(self) -> None:
        self._cols: dict[str, list[Any]] = {f.name: [] for f in LOG_ARROW_SCHEMA}

    def __len__(self) -> int:
        return len(self._cols["Timestamp"])

    def add_log(
        self,
        *,
        timestamp_ns: int,
        trace_id: str = "",
        span_id: str = "",
        trace_flags: int = 0,
        severity_text: str | None = None,
        severity_number: int = 0,
        body: str | None = None,
        resource_attributes: Mapping[str, str] | None = None,
        resource_schema_url: str | None = None,
        scope_name: str | None = None,
        scope_version: str | None = None,
        scope_schema_url: str | None = None,
        scope_attributes: Mapping[str, str] | None = None,
        attributes: Mapping[str, str] | None = None,
        event_name: str | None = None,
    ) -> None:
        """Append one record from plain values (string attribute maps, hex ids)."""
        res = resource_attributes or {}
        attrs = attributes or {}
        row: dict[str, Any] = {
            "Timestamp": timestamp_ns,
            "TraceId": trace_id,
            "SpanId": span_id,
            "TraceFlags": trace_flags,
            "SeverityText": severity_text,
            "SeverityNumber": severity_number,
            "ServiceName": res.get("service.name"),
            "Body": body,
            "ResourceSchemaUrl": resource_schema_url or None,
            "ResourceAttributes": list(res.items()),
            "ScopeSchemaUrl": scope_schema_url or None,
            "ScopeName": scope_name,
            "ScopeVersion": scope_version,
            "ScopeAttributes": list((scope_attributes or {}).items()),
            "LogAttributes": list(attrs.items()),
            "EventName": event_name or attrs.get(EVENT_NAME_ATTRIBUTE) or None,
        }
        for column, key in PROMOTED_LOG_COLUMNS.items():
            row[column] = attrs.get(key)
        # Only once the whole row is built: a failure above leaves the columns aligned.
        for name, value in row.items():
            self._cols[name].append(value)

    def add_sdk_record(self, record: ReadableLogRecord) -> None:
        """Append one SDK record (what `LogRecordExporter.export` receives)."""
        rec = record.log_record
        scope = record.instrumentation_scope
        resource = record.resource
        severity = rec.severity_number
        flags = rec.trace_flags
        self.add_log(
            timestamp_ns=rec.timestamp or rec.observed_timestamp or 0,
            trace_id=trace_id_hex(rec.trace_id),
            span_id=span_id_hex(rec.span_id),
            trace_flags=int(flags) if flags is not None else 0,
            severity_text=rec.severity_text,
            severity_number=int(severity.value) if severity is not None else 0,
            body=body_to_str(rec.body),
            resource_attributes=string_attrs(resource.attributes) if resource else None,
            resource_schema_url=resource.schema_url if resource else None,
            scope_name=scope.name if scope else None,
            scope_version=scope.version if scope else None,
            scope_schema_url=scope.schema_url if scope else None,
            scope_attributes=string_attrs(scope.attributes) if scope else None,
            attributes=string_attrs(rec.attributes),
            event_name=getattr(rec, "event_name", None),
        )

    def to_table(self) -> pa.Table:
        """The batch; raises if a time is beyond what ``TIMESTAMP_NS`` holds (see
        `check_times`: stored, it would read back as infinity)."""
        table = pa.Table.from_pydict(self._cols, schema=LOG_ARROW_SCHEMA)
        check_times(table.column("Timestamp").combine_chunks(), "Timestamp")
        return table


def records_to_table(records: Sequence[ReadableLogRecord]) -> tuple[pa.Table, int]:
    """Convert a batch; returns the table and how many records could not be converted.

    A record that cannot be converted (an app object whose ``__str__`` raises is already
    handled by `attr_to_str`; this is for anything else) costs only itself.
    """
    cols = LogColumns()
    failed = 0
    for record in records:
        try:
            cols.add_sdk_record(record)
        except Exception:  # records carry arbitrary app values: drop only the bad one
            failed += 1
            logger.debug("dropping unconvertible log record", exc_info=True)
    try:
        return cols.to_table(), failed
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        logger.debug("log batch conversion failed, retrying record by record", exc_info=True)
    tables: list[pa.Table] = []
    failed = 0
    for record in records:
        one = LogColumns()
        try:
            one.add_sdk_record(record)
            tables.append(one.to_table())
        except Exception:  # this record cannot be stored, whatever the reason: drop only it
            failed += 1
            logger.debug("dropping unconvertible log record", exc_info=True)
    table = pa.concat_tables(tables) if tables else LOG_ARROW_SCHEMA.empty_table()
    return table, failed
