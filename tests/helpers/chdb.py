"""The embedded ClickHouse engine (chDB) of this test process.

chDB opens exactly one data directory per process ("EmbeddedServer already initialized
with path ..."), and pytest runs many test modules in one process, so every test that
needs the embedded engine goes through here: `chdb_dir` is made once (at first call)
and `chdb_client` is a client on it. Tests isolate themselves by database, not by
directory: take a fresh name from `unique_database`.
"""

from __future__ import annotations

import atexit
import itertools
import re
import shutil
import tempfile
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["chdb_client", "chdb_dir", "chdb_url", "unique_database"]

_LOCK = threading.Lock()
_DIR: str | None = None
_CLIENT: Client | None = None
_COUNTER = itertools.count()


def chdb_dir() -> str:
    """The process's chDB data directory (a temporary directory, made at first use and
    removed at exit)."""
    global _DIR
    with _LOCK:
        if _DIR is None:
            _DIR = tempfile.mkdtemp(prefix="crewscope-chdb-")
            atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
        return _DIR


def chdb_url(database: str | None = None) -> str:
    """A ``chdb://`` store URL on the process's directory (optionally with a database)."""
    url = f"chdb://{chdb_dir()}"
    return f"{url}?database={database}" if database else url


def chdb_client() -> Client:
    """A process-wide ``clickhouse_connect`` client on the embedded engine."""
    global _CLIENT
    path = chdb_dir()
    with _LOCK:
        if _CLIENT is None:
            import clickhouse_connect

            _CLIENT = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        return _CLIENT


def unique_database(prefix: str = "t") -> str:
    """A database name no other test of this process has (not created)."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", prefix) or "t"
    return f"{safe}_{next(_COUNTER)}"
