"""OTLP trace payloads (protobuf or JSON) -> the same Arrow rows the in-process exporter writes.

Decoding uses the official ``opentelemetry-proto`` messages. OTLP/JSON differs from the
protobuf JSON mapping in one way that matters: trace and span ids are hex, not base64,
so they are converted before ``ParseDict``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from crewscope.exporter.attr_values import attr_to_str
from crewscope.exporter.span_rows import MAX_TIMESTAMP_NS, SpanColumns

M = TypeVar("M", bound=Message)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
_STATUSES = ("Unset", "Ok", "Error")
_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")
TOO_LATE = "with a time beyond 2262-04-11T23:47:16.854775806Z, the latest the store holds"
"""Why an item with a time past `MAX_TIMESTAMP_NS` is rejected (partial success)."""


class BadPayload(ValueError):
    """The request body is not a decodable OTLP export request (HTTP 400, not retried)."""


@dataclass
class DecodedTable:
    """A decoded request whose rows are one table (spans or log records)."""

    table: pa.Table
    accepted: int
    rejected: int
    error: str | None = None

    @property
    def payload(self) -> pa.Table:
        return self.table


def any_value(value: AnyValue) -> object:
    """An OTLP ``AnyValue`` as a Python value (lists and dicts for arrays and kvlists)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def string_map(attributes: Iterable[KeyValue]) -> dict[str, str]:
    """OTLP ``KeyValue`` list -> the string map stored in the MAP columns (as `attr_to_str`).

    The scalar cases are inlined: this runs for every attribute of every received span.
    """
    out: dict[str, str] = {}
    for kv in attributes:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "string_value":
            out[kv.key] = value.string_value
        elif kind == "int_value":
            out[kv.key] = str(value.int_value)
        elif kind == "bool_value":
            out[kv.key] = "true" if value.bool_value else "false"
        elif kind == "double_value":
            out[kv.key] = str(value.double_value)
        elif kind is not None:
            text = attr_to_str(any_value(value))
            if text is not None:
                out[kv.key] = text
    return out


def _hex_to_b64(value: object) -> object:
    if not isinstance(value, str) or not value:
        return value
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError as exc:
        raise BadPayload(f"id {value!r} is not hex") from exc


def _fix_ids(node: dict[str, object]) -> dict[str, object]:
    """An OTLP/JSON object with its hex ids as base64, as ``ParseDict`` expects them."""
    return {k: (_hex_to_b64(v) if k in _ID_FIELDS else _fix_value(v)) for k, v in node.items()}


def _fix_value(node: object) -> object:
    if isinstance(node, dict):
        return _fix_ids(node)
    if isinstance(node, list):
        return [_fix_value(v) for v in node]
    return node


def parse_request(body: bytes, content_type: str, message: type[M]) -> M:
    """Bytes -> an OTLP export request ``message``; raises `BadPayload` with a reason."""
    request = message()
    if content_type == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RuntimeWarning, ValueError) as exc:
            raise BadPayload(f"invalid OTLP protobuf: {exc}") from exc
        return request
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"invalid JSON: {exc}") from exc
    except RecursionError as exc:  # e.g. 100000 nested arrays: a few bytes per level
        raise BadPayload("invalid JSON: nested too deeply") from exc
    if not isinstance(document, dict):
        raise BadPayload("OTLP/JSON body must be an object")
    try:
        json_format.ParseDict(_fix_ids(document), request, ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, TypeError, ValueError) as exc:
        raise BadPayload(f"invalid OTLP/JSON: {exc}") from exc
    except RecursionError as exc:  # nested deeper than the id fix-up can walk
        raise BadPayload("invalid OTLP/JSON: nested too deeply") from exc
    return request


def reasons(*counts: tuple[int, str, str]) -> str | None:
    """``(count, what, why)`` -> the partial-success message naming each non-zero count."""
    parts = [f"{n} {what} {why}" for n, what, why in counts if n]
    return "; ".join(parts) or None


def to_columns(request: ExportTraceServiceRequest) -> DecodedTable:
    """Spans with malformed ids, or with a start, end or event time the store cannot hold
    (past `MAX_TIMESTAMP_NS`), are rejected (partial success); the rest become rows.

    An end before the start is stored as duration 0; an unknown kind as ``Unspecified``,
    an unknown status code as ``Unset``.
    """
    columns = SpanColumns()
    rejected = too_late = 0
    for resource_spans in request.resource_spans:
        resource: Mapping[str, str] = string_map(resource_spans.resource.attributes)
        service = resource.get("service.name")
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            for span in scope_spans.spans:
                if len(span.trace_id) != 16 or len(span.span_id) != 8 or not any(span.trace_id):
                    rejected += 1
                    continue
                if (
                    span.start_time_unix_nano > MAX_TIMESTAMP_NS
                    or span.end_time_unix_nano > MAX_TIMESTAMP_NS
                    or any(e.time_unix_nano > MAX_TIMESTAMP_NS for e in span.events)
                ):
                    too_late += 1
                    continue
                parent = span.parent_span_id.hex() if len(span.parent_span_id) == 8 else ""
                columns.add_span(
                    timestamp_ns=span.start_time_unix_nano,
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=parent,
                    name=span.name,
                    kind=_KINDS[span.kind] if 0 <= span.kind < len(_KINDS) else "Unspecified",
                    duration_ns=max(0, span.end_time_unix_nano - span.start_time_unix_nano),
                    status_code=(
                        _STATUSES[span.status.code] if 0 <= span.status.code < 3 else "Unset"
                    ),
                    status_message=span.status.message or None,
                    trace_state=span.trace_state,
                    service_name=service,
                    resource_attributes=resource,
                    scope_name=scope.name or None,
                    scope_version=scope.version or None,
                    attributes=string_map(span.attributes),
                    events=[
                        (e.time_unix_nano, e.name, string_map(e.attributes)) for e in span.events
                    ],
                    links=[
                        (
                            link.trace_id.hex(),
                            link.span_id.hex(),
                            link.trace_state or None,
                            string_map(link.attributes),
                        )
                        for link in span.links
                    ],
                )
    error = reasons(
        (rejected, "spans", "with invalid trace or span ids"), (too_late, "spans", TOO_LATE)
    )
    return DecodedTable(columns.to_table(), len(columns), rejected + too_late, error)


def decode_traces(body: bytes, content_type: str) -> DecodedTable:
    return to_columns(parse_request(body, content_type, ExportTraceServiceRequest))


def encode_reply(response: Message, content_type: str) -> bytes:
    """An OTLP reply in the request's content type (protobuf or JSON)."""
    if content_type == PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()


def with_partial_success(response: M, rejected_field: str, rejected: int, error: str | None) -> M:
    """An OTLP export response, with its partial success (``rejected_field``, the message)
    filled in when `rejected` items were refused."""
    if rejected:
        partial = response.partial_success  # type: ignore[attr-defined]
        setattr(partial, rejected_field, rejected)
        partial.error_message = error or ""
    return response


def trace_response(rejected: int, error: str | None, content_type: str) -> bytes:
    response = ExportTraceServiceResponse()
    return encode_reply(
        with_partial_success(response, "rejected_spans", rejected, error), content_type
    )
