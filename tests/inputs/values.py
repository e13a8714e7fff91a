"""OTLP ``AnyValue``s as hypothesis generates them, and what the store must make of them.

A value is a small tagged tree (`Value`): the test turns it into the protobuf ``AnyValue``
an exporter sends (`to_any`) and, independently of crewscope's code, into the string the
MAP columns must hold (`expected_str`, the contract of `attr_to_str`):

- string as is (NUL and any Unicode kept); bool ``true``/``false``; int in decimal; double
  as Python prints it (``nan``, ``inf``, ``-inf``, ``1e+300``, ``-0.0``);
- bytes as base64 (as the Collector does);
- arrays and kvlists as JSON (``ensure_ascii=False``; NaN/Infinity as Python's json writes
  them; bytes inside as base64; an empty value inside as ``null``; a kvlist's duplicate keys:
  the last wins, at the first one's place);
- an empty ``AnyValue`` (no field set) at the top: the attribute is left out.

For a list of attributes with duplicate keys, the last one with a value wins.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

Value = tuple[Any, ...]
"""("string", str) | ("bool", b) | ("int", i) | ("double", f) | ("bytes", b) |
("array", [Value]) | ("kvlist", [(key, Value)]) | ("empty",)"""

INT64 = (-(2**63), 2**63 - 1)

texts = st.text(max_size=40)
"""Any Unicode text but lone surrogates (which no UTF-8 encoder can send): NUL, emoji,
combining marks, right-to-left text included."""

doubles = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e300, -1e-300, 2.0**63]),
)
scalars = st.one_of(
    st.tuples(st.just("string"), texts),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("int"), st.integers(*INT64)),
    st.tuples(st.just("double"), doubles),
    st.tuples(st.just("bytes"), st.binary(max_size=24)),
    st.just(("empty",)),
)


def values(max_leaves: int = 6) -> st.SearchStrategy[Value]:
    """Scalars, arrays and kvlists nested a few levels (protobuf's limit is ~31 levels)."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.tuples(st.just("array"), st.lists(inner, max_size=4)),
            st.tuples(st.just("kvlist"), st.lists(st.tuples(texts, inner), max_size=4)),
        ),
        max_leaves=max_leaves,
    )


PROMOTED_KEYS = (
    "gen_ai.operation.name", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
    "gen_ai.request.model", "gen_ai.response.model", "gen_ai.agent.name", "crewai.crew.name",
    "crewai.task.name", "gen_ai.tool.name", "error.type", "service.name", "event.name",
    "crewscope.run.id", "crewscope.run.root_id",
)  # fmt: skip
token_strings = st.sampled_from(
    ["12", "12.0", "-3", "1e300", "inf", "nan", "abc", "", str(2**63), str(2**63 - 1),
     str(-(2**63)), "99999999999999999999999", " 7 "]
)  # fmt: skip
keys = st.one_of(texts, st.sampled_from(PROMOTED_KEYS), st.just(""))
attribute_values = st.one_of(values(), st.tuples(st.just("string"), token_strings))
attributes = st.lists(st.tuples(keys, attribute_values), max_size=6)


def to_any(value: Value) -> AnyValue:
    kind = value[0]
    if kind == "empty":
        return AnyValue()
    if kind == "array":
        out = AnyValue()
        out.array_value.values.extend(to_any(v) for v in value[1])
        return out
    if kind == "kvlist":
        out = AnyValue()
        out.kvlist_value.values.extend(KeyValue(key=k, value=to_any(v)) for k, v in value[1])
        return out
    return AnyValue(**{f"{kind}_value": value[1]})


def key_values(attrs: Iterable[tuple[str, Value]]) -> list[KeyValue]:
    return [KeyValue(key=k, value=to_any(v)) for k, v in attrs]


def _python(value: Value) -> Any:
    kind = value[0]
    if kind == "empty":
        return None
    if kind == "bytes":
        return base64.b64encode(value[1]).decode()
    if kind == "array":
        return [_python(v) for v in value[1]]
    if kind == "kvlist":
        return {k: _python(v) for k, v in value[1]}
    return value[1]


def expected_str(value: Value) -> str | None:
    """The string a MAP column holds for `value` (None: the attribute is left out)."""
    kind, payload = value[0], value[1:]
    if kind == "empty":
        return None
    if kind == "string":
        return str(payload[0])
    if kind == "bool":
        return "true" if payload[0] else "false"
    if kind in ("int", "double"):
        return str(payload[0])
    if kind == "bytes":
        return base64.b64encode(payload[0]).decode()
    return json.dumps(_python(value), ensure_ascii=False)


def expected_map(attrs: Iterable[tuple[str, Value]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in attrs:
        text = expected_str(v)
        if text is not None:
            out[k] = text
    return out


def expected_tokens(text: str | None) -> int | None:
    """A promoted token count: an integer (or a float's integer part) that fits a BIGINT."""
    if text is None:
        return None
    try:
        number = int(text)
    except ValueError:
        try:
            number = int(float(text))
        except (ValueError, OverflowError):
            return None
    return number if INT64[0] <= number <= INT64[1] else None


def same(a: object, b: object) -> bool:
    """Equality where NaN equals NaN (doubles read back from the file)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b
