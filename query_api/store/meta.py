"""``crewscope_meta``: small key/value state kept in the database (watermarks, job marks)."""

from __future__ import annotations

from crewscope.query_api.store.query import inline
from crewscope.query_api.store.session import Session

READ_META = inline("read_meta", 'SELECT "Value" FROM crewscope_meta WHERE "Key" = $key')
WRITE_META = inline("write_meta", "INSERT OR REPLACE INTO crewscope_meta VALUES ($key, $value)")


def read_meta(s: Session, key: str) -> str | None:
    value = s.scalar(READ_META, {"key": key})
    return None if value is None else str(value)


def write_meta(s: Session, key: str, value: str) -> None:
    s.execute(WRITE_META, {"key": key, "value": value})
