"""Lazy, retrying, warn-once opening of the DuckDB file, shared by both SDK exporters.

An instrumented app must never be hurt by its telemetry: while the file cannot be opened
(locked by another process, bad path), exports are dropped and counted, the open is retried
at most every ``retry_interval_s``, and the first failure of each kind is a warning while
repeats go to debug until it recovers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import KW_ONLY, asdict, dataclass, field
from typing import Any, ClassVar

import duckdb

from crewscope.exporter.store import DEFAULT_DDL, SpanStore, is_lock_error


@dataclass
class WriteStats:
    """What every exporter counts, updated under its lock and read by health endpoints;
    `StoreOpener` keeps `state` and `last_error`."""

    batches_written: int = 0
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    state: str = "not_open"  # not_open | open | locked | unavailable | shutdown
    last_error: str | None = None
    last_write_unix_ns: int | None = None

    # A subclass names its items (``class S(WriteStats, items="spans")``) and declares the
    # fields ``<items>_written`` and ``<items>_dropped`` that `wrote` and `drop` count in.
    _written: ClassVar[str]
    _dropped: ClassVar[str]

    def __init_subclass__(cls, items: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._written, cls._dropped = f"{items}_written", f"{items}_dropped"

    def drop(self, reason: str, count: int) -> None:
        """Count `count` items not stored (the exporter's own total and per reason)."""
        setattr(self, self._dropped, getattr(self, self._dropped) + count)
        if count:
            self.dropped_by_reason[reason] = self.dropped_by_reason.get(reason, 0) + count

    def wrote(self, count: int) -> None:
        """Count `count` items committed."""
        setattr(self, self._written, getattr(self, self._written) + count)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready snapshot."""
        return asdict(self)


class WarnOnce:
    """Warn on the first failure of a kind; repeats go to debug until `recovered`."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._warned: set[str] = set()

    def warn(self, key: str, msg: str, *args: object, exc_info: bool = False) -> None:
        if key in self._warned:
            self.logger.debug(msg, *args)
        else:
            self._warned.add(key)
            self.logger.warning(msg, *args, exc_info=exc_info)

    def recovered(self, key: str) -> bool:
        """Forget a failure kind; True if it had been warned about."""
        if key in self._warned:
            self._warned.discard(key)
            return True
        return False


@dataclass(eq=False)
class StoreOpener:
    """Opens `SpanStore(path)` on demand; ``stats`` gets ``state`` and ``last_error``."""

    path: str
    _: KW_ONLY
    what: str
    stats: WriteStats
    warnings: WarnOnce
    logger: logging.Logger
    config: dict[str, str] | None = None
    ddl: tuple[str, ...] = DEFAULT_DDL
    retry_interval_s: float = 5.0
    _next_attempt: float = field(default=0.0, init=False, repr=False)

    def open(self) -> SpanStore | None:
        """A newly opened store, or None if the file cannot be opened (yet)."""
        now = time.monotonic()
        if now < self._next_attempt:
            return None
        try:
            store = SpanStore(self.path, config=self.config, ddl=self.ddl)
        except (duckdb.Error, OSError) as exc:  # locked, bad path, unreadable or corrupt file
            self._next_attempt = now + self.retry_interval_s
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            if is_lock_error(exc):
                self.stats.state = "locked"
                self.warnings.warn(
                    "open",
                    "crewscope: %s is locked by another process (%s); %s are dropped until it "
                    "is released (retrying every %gs). To share one database between "
                    "processes, send %s over OTLP to `crewscope serve`.",
                    self.path, exc, self.what, self.retry_interval_s, self.what,
                )  # fmt: skip
            else:
                self.stats.state = "unavailable"
                self.warnings.warn("open", "crewscope: cannot open %s: %s", self.path, exc)
            return None
        if self.warnings.recovered("open"):
            self.logger.info("crewscope: opened %s, exporting %s again", self.path, self.what)
        self.stats.state = "open"
        return store
