"""`ReadsFirst`: while the receiver sheds load, its writes give way to the reads in progress.

On a machine with few cores, the OTLP receiver's writer (inserting tens of thousands of
spans at a time) and the query API's requests compete for the same CPU: while the receiver
was refusing requests (its queue full), every query took several times as long. A query
marks its session as a read (`ReadsFirst.reading`). While the receiver is shedding (it
refused a request within `ingest.SHEDDING_S`), its writer calls `wait_turn` before each write:
it waits until no read is in progress, or `MAX_WAIT_S` has passed. Ingest is never stopped
(at most one wait per write) and is slowed only while it refuses work anyway: clients retry
after ``Retry-After`` and nothing acknowledged is affected. Otherwise nothing waits.
Meanwhile queries that may lag by one sync also leave the projection sync to the receiver's
projector thread (`shedding`, set by the receiver; `Database.session`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

MAX_WAIT_S = 0.5
"""The longest an append waits for reads (per append: a writer is never held up longer)."""


def _never() -> bool:
    return False


class ReadsFirst:
    def __init__(self, max_wait_s: float = MAX_WAIT_S) -> None:
        self.max_wait_s = max_wait_s
        self._changed = threading.Condition()
        self._reads = 0
        self.waits = 0
        """Appends that found reads in progress and waited."""
        self.waited_s = 0.0
        """Their total wait."""
        self.shedding: Callable[[], bool] = _never
        """Whether the writer is shedding load now (the receiver sets it)."""

    @property
    def reads(self) -> int:
        """Reads in progress."""
        return self._reads

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Mark a read in progress for the duration of the block."""
        with self._changed:
            self._reads += 1
        try:
            yield
        finally:
            with self._changed:
                self._reads -= 1
                if not self._reads:
                    self._changed.notify_all()

    def wait_turn(self) -> None:
        """Before an append: wait until no read is in progress, at most `max_wait_s`."""
        if not self._reads:  # the common case, without the lock
            return
        started = time.monotonic()
        with self._changed:
            self._changed.wait_for(lambda: not self._reads, timeout=self.max_wait_s)
            self.waits += 1
            self.waited_s += time.monotonic() - started
