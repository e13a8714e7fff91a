"""OTLP log payloads (protobuf or JSON) -> ``otel_logs`` rows (exporter/sql/logs_schema.sql).

The columns follow the Collector ClickHouse exporter: ``Timestamp`` is the record's time, or
its observed time when the record has none; ``TraceId`` / ``SpanId`` lowercase hex, ``''``
when absent; ``Body`` the string body, other bodies (maps, arrays, bytes, numbers) as
`attr_to_str` stores attribute values; ``EventName`` the record's ``event_name`` field, else
its ``event.name`` attribute. The typed columns after it are copies of the attributes
``crewai.crew.name``, ``gen_ai.agent.name``, ``crewai.task.name``, ``crewscope.run.id`` and
``crewscope.run.root_id``. Records with malformed ids (neither empty nor 16 / 8 bytes) are
rejected (partial success).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from crewscope.exporter.receiver.ingest import Writer
from crewscope.exporter.receiver.otlp_decode import (
    any_value,
    encode_reply,
    parse_request,
    string_map,
)
from crewscope.exporter.span_rows import attr_to_str
from crewscope.exporter.store import SpanStore

LOGS_TABLE = "otel_logs"
_TS = pa.timestamp("ns")
_STR = pa.string()
_MAP = pa.map_(pa.string(), pa.string())

PROMOTED_LOG_COLUMNS = {
    "CrewName": "crewai.crew.name",
    "AgentName": "gen_ai.agent.name",
    "TaskName": "crewai.task.name",
    "RunId": "crewscope.run.id",
    "RootRunId": "crewscope.run.root_id",
}
"""Typed column -> the record attribute it copies (table order)."""

LOG_SCHEMA = pa.schema(
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

_INSERT = 'INSERT INTO otel_logs BY NAME SELECT * FROM "{view}"'


@dataclass
class DecodedLogs:
    table: pa.Table
    accepted: int
    rejected: int
    error: str | None = None

    @property
    def payload(self) -> pa.Table:
        return self.table


def _body(record: LogRecord) -> str | None:
    if not record.HasField("body"):
        return None
    value = record.body
    if value.WhichOneof("value") == "string_value":
        return value.string_value
    return attr_to_str(any_value(value))


def log_row(
    record: LogRecord,
    resource: Mapping[str, str],
    base: Mapping[str, object],
) -> dict[str, object]:
    """One record's row; `base` holds its resource and scope columns."""
    attributes = string_map(record.attributes)
    return {
        "Timestamp": record.time_unix_nano or record.observed_time_unix_nano,
        "TraceId": record.trace_id.hex(),
        "SpanId": record.span_id.hex(),
        "TraceFlags": record.flags & 0xFF,
        "SeverityText": record.severity_text or None,
        "SeverityNumber": int(record.severity_number),
        "Body": _body(record),
        **base,
        "LogAttributes": list(attributes.items()),
        "EventName": record.event_name or attributes.get("event.name"),
        **{column: attributes.get(key) for column, key in PROMOTED_LOG_COLUMNS.items()},
    }


def to_log_rows(request: ExportLogsServiceRequest) -> DecodedLogs:
    rows: list[dict[str, object]] = []
    rejected = 0
    for resource_logs in request.resource_logs:
        resource = string_map(resource_logs.resource.attributes)
        resource_items = list(resource.items())
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            base: dict[str, object] = {
                "ServiceName": resource.get("service.name"),
                "ResourceSchemaUrl": resource_logs.schema_url or None,
                "ResourceAttributes": resource_items,
                "ScopeSchemaUrl": scope_logs.schema_url or None,
                "ScopeName": scope.name or None,
                "ScopeVersion": scope.version or None,
                "ScopeAttributes": list(string_map(scope.attributes).items()),
            }
            for record in scope_logs.log_records:
                if len(record.trace_id) not in (0, 16) or len(record.span_id) not in (0, 8):
                    rejected += 1
                    continue
                rows.append(log_row(record, resource, base))
    table = pa.Table.from_pylist(rows, schema=LOG_SCHEMA)
    error = f"{rejected} log records with invalid trace or span ids" if rejected else None
    return DecodedLogs(table, len(rows), rejected, error)


def decode_logs(body: bytes, content_type: str) -> DecodedLogs:
    return to_log_rows(parse_request(body, content_type, ExportLogsServiceRequest))


def logs_response(rejected: int, error: str | None, content_type: str) -> bytes:
    response = ExportLogsServiceResponse()
    if rejected:
        response.partial_success.rejected_log_records = rejected
        response.partial_success.error_message = error or ""
    return encode_reply(response, content_type)


def log_writer(store: SpanStore) -> Writer[pa.Table]:
    """Writes every queued request's log rows in one committed insert."""
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
