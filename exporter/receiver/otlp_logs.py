"""OTLP log payloads (protobuf or JSON) -> the same ``otel_logs`` rows the in-process log
exporter writes (`crewscope.exporter.log_rows.LogColumns`, sql/logs_schema.sql).

The columns follow the Collector ClickHouse exporter: ``Timestamp`` is the record's time, or
its observed time when the record has none; ``TraceId`` / ``SpanId`` lowercase hex, ``''``
when absent; ``Body`` the string body, other bodies (maps, arrays, bytes, numbers) as
`attr_to_str` stores attribute values; ``EventName`` the record's ``event_name`` field, else
its ``event.name`` attribute. The typed columns after it are copies of the attributes
``crewai.crew.name``, ``gen_ai.agent.name``, ``crewai.task.name``, ``crewscope.run.id`` and
``crewscope.run.root_id``. Records with malformed ids (neither empty nor 16 / 8 bytes), or
whose time is past `MAX_TIMESTAMP_NS` (what the store can hold), are rejected (partial
success).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from crewscope.exporter.attr_values import attr_to_str
from crewscope.exporter.log_rows import LogColumns
from crewscope.exporter.receiver.ingest import TableSink, Writer
from crewscope.exporter.receiver.otlp_decode import (
    TOO_LATE,
    DecodedTable,
    any_value,
    encode_reply,
    parse_request,
    reasons,
    string_map,
    with_partial_success,
)
from crewscope.exporter.span_rows import MAX_TIMESTAMP_NS
from crewscope.exporter.store import SpanStore

_INSERT = 'INSERT INTO otel_logs BY NAME SELECT * FROM "{view}"'


def _body(record: LogRecord) -> str | None:
    if not record.HasField("body"):
        return None
    value = record.body
    if value.WhichOneof("value") == "string_value":
        return value.string_value
    return attr_to_str(any_value(value))


def to_log_rows(request: ExportLogsServiceRequest) -> DecodedTable:
    """Records with malformed ids are rejected (partial success); the rest become rows
    through `LogColumns.add_log`, as the in-process log exporter's."""
    columns = LogColumns()
    rejected = too_late = 0
    for resource_logs in request.resource_logs:
        resource = string_map(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            scope_attributes = string_map(scope.attributes)
            for record in scope_logs.log_records:
                if len(record.trace_id) not in (0, 16) or len(record.span_id) not in (0, 8):
                    rejected += 1
                    continue
                timestamp_ns = record.time_unix_nano or record.observed_time_unix_nano
                if timestamp_ns > MAX_TIMESTAMP_NS:
                    too_late += 1
                    continue
                columns.add_log(
                    timestamp_ns=timestamp_ns,
                    trace_id=record.trace_id.hex(),
                    span_id=record.span_id.hex(),
                    trace_flags=record.flags & 0xFF,
                    severity_text=record.severity_text or None,
                    severity_number=int(record.severity_number),
                    body=_body(record),
                    resource_attributes=resource,
                    resource_schema_url=resource_logs.schema_url or None,
                    scope_name=scope.name or None,
                    scope_version=scope.version or None,
                    scope_schema_url=scope_logs.schema_url or None,
                    scope_attributes=scope_attributes,
                    attributes=string_map(record.attributes),
                    event_name=record.event_name or None,
                )
    error = reasons(
        (rejected, "log records", "with invalid trace or span ids"),
        (too_late, "log records", TOO_LATE),
    )
    return DecodedTable(columns.to_table(), len(columns), rejected + too_late, error)


def decode_logs(body: bytes, content_type: str) -> DecodedTable:
    return to_log_rows(parse_request(body, content_type, ExportLogsServiceRequest))


def logs_response(rejected: int, error: str | None, content_type: str) -> bytes:
    response = ExportLogsServiceResponse()
    return encode_reply(
        with_partial_success(response, "rejected_log_records", rejected, error), content_type
    )


def log_writer(store: SpanStore | TableSink) -> Writer[pa.Table]:
    """Writes every queued request's log rows in one committed insert (DuckDB's, or that of
    a store that inserts tables itself: ClickHouse)."""
    if not isinstance(store, SpanStore):
        sink = store

        def append(tables: list[pa.Table]) -> None:
            sink.append_tables({"otel_logs": pa.concat_tables(tables)})

        return append
    view = f"_crewscope_logs_{id(store):x}"

    def write(tables: list[pa.Table]) -> None:
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        cursor: duckdb.DuckDBPyConnection = store.cursor()
        try:
            cursor.register(view, table)
            try:
                cursor.execute(_INSERT.format(view=view))  # autocommit: durable on return
            finally:
                cursor.unregister(view)
        finally:
            cursor.close()

    return write
