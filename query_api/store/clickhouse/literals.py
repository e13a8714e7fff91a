"""Query parameters as ClickHouse literals.

The shared SQL convention passes values as ``$name`` parameters. ClickHouse's client-side
binding drops sub-second digits from datetimes and its server-side binding needs a type per
parameter, so the ClickHouse session renders each value as a typed literal itself: strings
escaped by clickhouse-connect's own quoting, datetimes as ``DateTime64(9, 'UTC')`` with every
digit, lists as arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal

from clickhouse_connect.driver.binding import str_query_value

_FIRST_TIME = datetime(1900, 1, 1)
_LAST_TIME = datetime(2262, 4, 11, 23, 47, 16)
"""What DateTime64(9) holds: a time outside is compared as the nearest end (every stored
time is inside, so the answer is the same)."""


def literal(value: object) -> str:
    """`value` as a ClickHouse SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        value = min(max(value, _FIRST_TIME), _LAST_TIME)  # DateTime64(9)'s range
        return f"toDateTime64('{value:%Y-%m-%d %H:%M:%S.%f}', 9, 'UTC')"
    if isinstance(value, date):
        value = min(max(value, _FIRST_TIME.date()), _LAST_TIME.date())
        return f"toDate32('{value:%Y-%m-%d}')"
    if isinstance(value, str):
        return str(str_query_value(value))
    if isinstance(value, Mapping):
        raise TypeError("maps are not query parameters")
    if isinstance(value, Sequence):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"cannot pass {type(value).__name__} as a ClickHouse parameter")
