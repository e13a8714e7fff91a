"""OTLP/HTTP bodies as the official exporters send them, and the raw edits no encoder makes.

`body(message, encoding)` is what ``opentelemetry-exporter-otlp-proto-http`` posts
(protobuf, optionally gzip) or what an OTLP/JSON sender (the JS exporters, the Collector's
``otlphttp`` with ``encoding: json``) posts: lowerCamelCase fields, enums as integers,
64-bit integers as strings, trace and span ids as hex, ``bytesValue`` as base64, NaN and
infinities as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
ENCODINGS = ("protobuf", "protobuf+gzip", "json", "json+gzip")
_ID_KEYS = {"traceId", "spanId", "parentSpanId"}


def _hex_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex() if k in _ID_KEYS else _hex_ids(v) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def otlp_json(message: Message) -> bytes:
    document = json_format.MessageToDict(message, use_integers_for_enums=True)
    return json.dumps(_hex_ids(document), ensure_ascii=False).encode()


def body(message: Message, encoding: str) -> tuple[bytes, dict[str, str]]:
    """(body, headers) for `message` in one of `ENCODINGS`."""
    if encoding.startswith("json"):
        data, headers = otlp_json(message), {"Content-Type": JSON}
    else:
        data, headers = message.SerializeToString(), {"Content-Type": PROTOBUF}
    if encoding.endswith("+gzip"):
        data, headers = gzip.compress(data, 1), {**headers, "Content-Encoding": "gzip"}
    return data, headers


def reply(response: Any, message: type[Message]) -> Message:
    """The OTLP reply of a 200 in the request's content type."""
    out = message()
    if response.headers["content-type"].startswith(JSON):
        json_format.Parse(response.text, out)
    else:
        out.ParseFromString(response.content)
    return out


def error_message(response: Any) -> str:
    """The reason of a 4xx (a google.rpc.Status for protobuf, ``{"message"}`` for JSON)."""
    from google.rpc import status_pb2

    if response.headers["content-type"].startswith(JSON):
        return str(response.json()["message"])
    return str(status_pb2.Status.FromString(response.content).message)


# Protobuf wire format by hand: for what the Python encoder refuses to write (nesting past
# upb's depth limit, invalid UTF-8 in a string field), as a Go or C++ sender would write it.


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings, bytes, embedded messages)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def nested_kvlist(depth: int, leaf: bytes = b"leaf") -> bytes:
    """An ``AnyValue`` that is `depth` kvlists ``{"k": ...}`` around a string `leaf`."""
    value = field(1, leaf)  # AnyValue.string_value
    for _ in range(depth):
        value = field(6, field(1, field(1, b"k") + field(2, value)))  # kvlist{values: [kv]}
    return value


def nested_array(depth: int, leaf: bytes = b"leaf") -> bytes:
    """An ``AnyValue`` that is `depth` one-element arrays around a string `leaf`."""
    value = field(1, leaf)
    for _ in range(depth):
        value = field(5, field(1, value))  # AnyValue.array_value{values: [value]}
    return value


def json_nested(depth: int, kind: str) -> str:
    """OTLP/JSON ``AnyValue`` text nested `depth` levels (written as text: json.dumps
    itself would hit Python's recursion limit)."""
    head = (
        '{"kvlistValue":{"values":[{"key":"k","value":'
        if kind == "kvlist"
        else ('{"arrayValue":{"values":[')
    )
    tail = "}]}}" if kind == "kvlist" else "]}}"
    return head * depth + '{"stringValue":"leaf"}' + tail * depth
