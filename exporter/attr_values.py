"""Attribute values as the MAP columns store them: every value a string (`attr_to_str`),
for spans, log records and metric points alike."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import cast

from opentelemetry.attributes import BoundedAttributes


def attr_to_str(value: object) -> str | None:
    """One attribute value as the string stored in the MAP columns; None means skip it.

    bool -> 'true'/'false'; sequences -> JSON arrays; bytes -> base64 (as the Collector does).
    """
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[return-value]
    if cls is bool:
        return "true" if value else "false"
    if cls is int or cls is float:
        return str(value)
    if value is None:
        return None
    try:
        if isinstance(value, str):  # a str subclass, e.g. a StrEnum member
            return str.__str__(value)
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(value).decode("ascii")
        if isinstance(value, (Sequence, Mapping, set, frozenset)):
            return json.dumps(value, ensure_ascii=False, default=_json_default)
        return str(value)
    except Exception:  # noqa: BLE001 - an app object's __str__ may raise anything
        return f"<unprintable {cls.__name__}>"


def _json_default(value: object) -> object:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return list(value)
    return str(value)


def string_attrs(attrs: Mapping[str, object] | None) -> dict[str, str]:
    """Copy of `attrs` with every value as `attr_to_str` makes it (None values dropped)."""
    if attrs.__class__ is BoundedAttributes:
        attrs = attrs._dict  # a dict iterates in C, the Mapping in Python
    if not attrs:
        return {}
    out = dict(attrs)  # copied in C; most values are already strings
    for k in [k for k, v in out.items() if v.__class__ is not str]:
        v = attr_to_str(out[k])
        if v is None:
            del out[k]
        else:
            out[k] = v
    return cast("dict[str, str]", out)  # every value left is a str now
