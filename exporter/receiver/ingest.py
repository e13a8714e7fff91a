"""The receiver's bounded ingest queue and its single writer thread.

Requests hand over a decoded payload (an Arrow table of spans, or metric tables) and wait
for its commit: data is acknowledged only once it is durable. The writer hands every
queued payload for the same writer to it at once (one commit) to keep DuckDB's
per-statement cost low under load. When the queue holds ``max_queued_spans``
the request is refused at once (HTTP 503 / gRPC UNAVAILABLE with a retry hint) instead of
growing memory without bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

import pyarrow as pa

logger = logging.getLogger(__name__)


@dataclass
class IngestStats:
    spans_accepted: int = 0
    spans_written: int = 0
    spans_rejected_invalid: int = 0
    requests_refused_full: int = 0
    spans_refused_full: int = 0
    batches_written: int = 0
    write_errors: int = 0
    last_error: str | None = None
    last_write_unix_ns: int | None = None
    by_signal: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready snapshot."""
        return dict(self.__dict__, by_signal=dict(self.by_signal))


P = TypeVar("P")
"""A decoded payload: an Arrow table of spans, or a signal's tables of metric rows."""

Writer: TypeAlias = Callable[[list[P]], None]
"""Writes a list of payloads in one commit; raises if nothing was committed."""


@dataclass
class _Item(Generic[P]):
    payload: P
    rows: int
    writer: Writer[P]
    future: Future[int]


SHEDDING_S = 2.0
"""The queue counts as shedding for this long after it refused a request."""


class IngestQueue:
    """Bounded queue of decoded batches, written by one thread."""

    def __init__(self, max_queued_spans: int = 200_000, max_write_spans: int = 50_000) -> None:
        self.max_queued_spans = max_queued_spans
        self.max_write_spans = max_write_spans
        self.stats = IngestStats()
        # Items of different payload types share the queue; each goes to its own writer.
        self._items: deque[_Item[Any]] = deque()
        self._queued = 0
        self._cond = threading.Condition()
        self._closed = False
        self.on_written: Callable[[], None] | None = None
        """Called by the writer thread after each committed write, once its requests are
        answered (e.g. to wake whatever derives tables from the new rows); must not block."""
        self.give_way: Callable[[], None] | None = None
        """Called by the writer thread before a write while the queue is shedding (see
        `SHEDDING_S`): may wait, bounded, e.g. for queries in progress (`read_priority`)."""
        self._refused_at = -SHEDDING_S
        self.typical_rows = 0
        """Items in the last request queued: what the next one is expected to bring."""
        self._thread = threading.Thread(target=self._run, name="crewscope-ingest", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Spans waiting to be written."""
        with self._cond:
            return self._queued

    def submit(
        self, payload: P, rows: int, writer: Writer[P], signal: str = "traces"
    ) -> Future[int] | None:
        """Queue ``payload`` (``rows`` items) for ``writer``; None when full (retry later)."""
        future: Future[int] = Future()
        if rows == 0:
            future.set_result(0)
            return future
        with self._cond:
            if self._full(rows):
                self._refuse(rows)
                return None
            self.typical_rows = rows
            self._items.append(_Item(payload, rows, writer, future))
            self._queued += rows
            self.stats.spans_accepted += rows
            self.stats.by_signal[signal] = self.stats.by_signal.get(signal, 0) + rows
            self._cond.notify()
        return future

    def _full(self, rows: int) -> bool:
        # A batch larger than the whole queue is admitted once the queue is empty, so it is
        # delayed, never refused for ever (memory stays bounded by the body limit).
        return self._closed or (self._queued + rows > self.max_queued_spans and self._queued > 0)

    def _refuse(self, rows: int) -> None:
        self.stats.requests_refused_full += 1
        self.stats.spans_refused_full += rows
        self._refused_at = time.monotonic()

    def would_refuse(self) -> bool:
        """Whether a request of the `typical_rows` size would be refused now: checked before
        a request is read and decoded, so that it is not decoded for nothing."""
        with self._cond:
            return self._full(self.typical_rows)

    def refuse(self) -> None:
        """Count a request refused before it was decoded (queue full or receiver saturated)."""
        with self._cond:
            self._refuse(0)

    def count_rejected(self, rows: int) -> None:
        """Items that were decoded but rejected as invalid (partial success)."""
        if rows:
            with self._cond:
                self.stats.spans_rejected_invalid += rows

    def _take(self) -> list[_Item[Any]]:
        """Wait for work; then take every queued item for the same writer, up to the limit."""
        with self._cond:
            while not self._items and not self._closed:
                self._cond.wait()
            if not self._items:
                return []
            first = self._items.popleft()
            batch, rows = [first], first.rows
            while (
                self._items
                and self._items[0].writer is first.writer
                and rows + self._items[0].rows <= self.max_write_spans
            ):
                item = self._items.popleft()
                batch.append(item)
                rows += item.rows
            return batch

    @property
    def shedding(self) -> bool:
        """Whether a request was refused (queue full) within the last `SHEDDING_S`."""
        return time.monotonic() - self._refused_at < SHEDDING_S

    def _give_way_if_shedding(self) -> None:
        if self.give_way is not None and self.shedding:
            try:
                self.give_way()
            except Exception as exc:  # noqa: BLE001 - the write goes ahead all the same
                logger.warning("crewscope ingest: give-way hook failed: %s", exc)

    def _run(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                return
            rows = sum(i.rows for i in batch)
            self._give_way_if_shedding()
            try:
                batch[0].writer([i.payload for i in batch])
            except Exception as exc:  # noqa: BLE001 - reported to every waiting request
                logger.warning("crewscope ingest: write of %d items failed: %s", rows, exc)
                with self._cond:
                    self._queued -= rows
                    self.stats.write_errors += 1
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                for item in batch:
                    _settle(item.future, exc=exc)
                continue
            with self._cond:
                self._queued -= rows
                self.stats.spans_written += rows
                self.stats.batches_written += 1
                self.stats.last_write_unix_ns = time.time_ns()
            for item in batch:
                _settle(item.future, result=item.rows)
            if self.on_written is not None:
                try:
                    self.on_written()
                except Exception as exc:  # noqa: BLE001 - the rows are written all the same
                    logger.warning("crewscope ingest: after-write hook failed: %s", exc)

    def close(self, timeout: float = 10.0) -> None:
        """Stop accepting, write what is queued, stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)


def _settle(future: Future[int], result: int = 0, exc: BaseException | None = None) -> None:
    """Resolve a request's future; one whose waiter gave up (cancelled) is simply skipped,
    so a slow commit can never kill the writer thread."""
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


class TableSink(Protocol):
    """A store that inserts tables by name itself (the ClickHouse store's sink): returning
    means every row is in."""

    def append_tables(self, tables: Mapping[str, pa.Table]) -> None: ...


def span_writer(append: Callable[[pa.Table], None]) -> Writer[pa.Table]:
    """Writer for span tables: one append (one commit) for everything queued."""

    def write(tables: list[pa.Table]) -> None:
        append(tables[0] if len(tables) == 1 else pa.concat_tables(tables))

    return write
