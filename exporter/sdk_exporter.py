"""`WriterExporter`: the lifecycle the three in-app SDK exporters (spans, metrics, logs) share.

The file opens on the first export; a file locked by another process gives FAILURE (counted in
`stats`) after one warning, retried at most every `retry_interval_s`; `export` never raises;
FAILURE after `shutdown`. Nothing is buffered: every successful export is already committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypedDict, TypeVar

import pyarrow as pa

from crewscope.exporter.batch_writer import BatchWriter
from crewscope.exporter.opener import WriteStats
from crewscope.exporter.tenant import TenantNameError, env_tenant, stamp_table

S = TypeVar("S", bound=WriteStats)
T = TypeVar("T")


class WriterOptions(TypedDict, total=False):
    """The keyword options every DuckDB exporter takes (see `WriterExporter`)."""

    retry_interval_s: float
    duckdb_config: dict[str, str] | None


class WriterExporter(Generic[S]):
    """Base of the DuckDB SDK exporters; a subclass sets `_what` and `_stats_type`."""

    _what: ClassVar[str]  # "spans", "metrics" or "logs", for messages
    _stats_type: type[S]

    def __init__(
        self,
        path: str | None = None,
        *,
        retry_interval_s: float = 5.0,
        duckdb_config: dict[str, str] | None = None,
    ) -> None:
        self.stats: S = self._stats_type()
        self._writer = BatchWriter(
            path, what=self._what, stats=self.stats,
            logger=logging.getLogger(type(self).__module__),
            retry_interval_s=retry_interval_s, duckdb_config=duckdb_config,
        )  # fmt: skip
        self.path = self._writer.path
        self.tenant = _tenant_or_none()
        """``CREWSCOPE_TENANT``: stamped on every row written (`crewscope.exporter.tenant`)."""

    def _stamp(self, table: pa.Table) -> pa.Table:
        return table if self.tenant is None else stamp_table(table, self.tenant)

    def _stored(self, store: Callable[[], bool], count: Callable[[], int]) -> bool:
        """Run one export's `store`; False, with `count()` items counted as dropped, after
        `shutdown` or on an unexpected error of crewscope's own. Never raises."""
        try:
            if self._writer.stopped:
                self._writer.drop("shutdown", count())
                return False
            return store()
        except Exception as exc:  # noqa: BLE001 - SDK contract: export never raises into the app
            self._writer.failed(exc, count())
            return False

    def _stored_rows(
        self, batch: Sequence[T], table: str, convert: Callable[[Sequence[T]], tuple[pa.Table, int]]
    ) -> bool:
        """`_stored` for a batch that `convert` turns into rows of `table` (and a count of
        the items it could not convert): an empty batch is done at once; converting, the
        costly part, runs outside the writer's lock."""

        def store() -> bool:
            if not batch:
                return True
            rows, failed = convert(batch)
            return self._writer.write_converted(table, self._stamp(rows), failed)

        return self._stored(store, _sized(batch))

    def force_flush(self, timeout_millis: float = 30_000) -> bool:
        """Nothing is buffered here: every successful export is already committed."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Close the file; later exports return FAILURE."""
        self._writer.shutdown()


def _tenant_or_none() -> str | None:
    """``CREWSCOPE_TENANT``; an invalid one is logged and ignored (it must not stop the app)."""
    try:
        return env_tenant()
    except TenantNameError as exc:
        logging.getLogger(__name__).error("crewscope: %s; rows are written without one", exc)
        return None


def _sized(batch: object) -> Callable[[], int]:
    """The drop count of a batch: its length, 0 if it has none."""

    def count() -> int:
        try:
            return len(batch)  # type: ignore[arg-type]
        except TypeError:
            return 0

    return count
