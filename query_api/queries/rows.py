"""Rows to response models: columns named like the model's fields, a few values converted."""

from __future__ import annotations

import math
from typing import Any, TypeVar

from pydantic import BaseModel

from crewscope.query_api.dates import as_utc

M = TypeVar("M", bound=BaseModel)


def from_row(model: type[M], row: dict[str, Any], *utc: str, **values: Any) -> M:
    """`model` from `row` (other columns ignored): the `utc` columns as aware datetimes
    (None stays None), `values` in place of the row's."""
    times = {k: None if row[k] is None else as_utc(row[k]) for k in utc}
    return model(**{**row, **times, **values})


def to_int(value: Any) -> int | None:
    """A count as an int; None for None and for NaN or infinite samples (stored as sent)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return int(value)
