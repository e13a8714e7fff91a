"""Where the store is: ``--store`` / ``CREWSCOPE_STORE`` parsed into an engine and its address.

- a DuckDB file: a plain path, or ``duckdb:///PATH`` (the default engine);
- ``clickhouse://USER:PASSWORD@HOST:8123/DATABASE`` (``clickhouses://`` for HTTPS): a
  ClickHouse server over its HTTP interface;
- ``chdb:///PATH[?database=NAME]``: the ClickHouse engine embedded in this process, its data
  in the directory PATH.

The database defaults to ``otel``, the one `otel-collector.yaml` has the Collector write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

CREWSCOPE_STORE = "CREWSCOPE_STORE"
DEFAULT_DATABASE = "otel"
Engine = Literal["duckdb", "clickhouse", "chdb"]


class StoreURLError(ValueError):
    """A ``--store`` value that names no engine crewscope has, or lacks a part it needs."""


@dataclass(frozen=True)
class StoreLocation:
    engine: Engine
    path: str | None = None  # duckdb file / chdb directory
    host: str | None = None
    port: int | None = None
    username: str = "default"
    password: str = ""
    secure: bool = False
    database: str = DEFAULT_DATABASE
    cluster: str | None = None  # ?cluster=NAME: the tables are Distributed over this cluster

    def describe(self) -> str:
        """The location without its password (for logs and the health endpoint)."""
        if self.engine == "clickhouse":
            scheme = "clickhouses" if self.secure else "clickhouse"
            where = f"{scheme}://{self.username}@{self.host}:{self.port}/{self.database}"
            return where + (f"?cluster={self.cluster}" if self.cluster else "")
        if self.engine == "chdb":
            return f"chdb://{self.path}?database={self.database}"
        return str(self.path)


def parse_store(value: str) -> StoreLocation:
    """`StoreLocation` of a ``--store`` value (a bare path is a DuckDB file)."""
    if "://" not in value:
        return StoreLocation("duckdb", path=value)
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    database = unquote(parts.path.lstrip("/")) or DEFAULT_DATABASE
    if scheme == "duckdb":
        return StoreLocation("duckdb", path=unquote(parts.netloc + parts.path))
    if scheme == "chdb":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise StoreURLError(f"{value!r}: chdb:///PATH needs a data directory")
        db = parse_qs(parts.query).get("database", [DEFAULT_DATABASE])[0]
        return StoreLocation("chdb", path=path, database=db)
    if scheme in ("clickhouse", "clickhouses"):
        if not parts.hostname:
            raise StoreURLError(f"{value!r}: clickhouse://USER:PASSWORD@HOST:PORT/DATABASE")
        secure = scheme == "clickhouses"
        return StoreLocation(
            "clickhouse",
            host=parts.hostname,
            port=parts.port or (8443 if secure else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            secure=secure,
            database=database,
            cluster=parse_qs(parts.query).get("cluster", [None])[0] or None,
        )
    raise StoreURLError(f"{value!r}: unknown store (a DuckDB path, clickhouse://... or chdb://...)")
