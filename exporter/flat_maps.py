"""Arrow ``MAP(VARCHAR, VARCHAR)`` columns built row by row (span attributes, resources)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyarrow as pa

__all__ = ["FlatMaps"]

_STR = pa.string()
_MAP = pa.map_(pa.string(), pa.string())


class FlatMaps:
    """Rows of a MAP(VARCHAR, VARCHAR) column as flat offsets, keys and values."""

    __slots__ = ("offsets", "keys", "values")

    def __init__(self) -> None:
        self.offsets = [0]
        self.keys: list[str] = []
        self.values: list[str] = []

    def add(self, mapping: Mapping[str, str]) -> None:
        self.extend(mapping, mapping.values())

    def extend(self, keys: Iterable[str], values: Iterable[str]) -> None:
        self.keys.extend(keys)
        self.values.extend(values)
        self.offsets.append(len(self.keys))

    def with_key(self, key: str, by_row: Mapping[int, str]) -> FlatMaps:
        """A copy with `key` added to the rows of `by_row` (row index -> value), except in
        rows that already have it."""
        out = FlatMaps()
        offsets, keys, values = self.offsets, self.keys, self.values
        for i in range(len(offsets) - 1):
            lo, hi = offsets[i], offsets[i + 1]
            out.keys.extend(keys[lo:hi])
            out.values.extend(values[lo:hi])
            value = by_row.get(i)
            if value is not None and key not in keys[lo:hi]:
                out.keys.append(key)
                out.values.append(value)
            out.offsets.append(len(out.keys))
        return out

    def array(self) -> pa.MapArray:
        offsets = pa.array(self.offsets, pa.int32())
        keys, values = pa.array(self.keys, _STR), pa.array(self.values, _STR)
        return pa.MapArray.from_arrays(offsets, keys, values, type=_MAP)
