"""Model prices inside ClickHouse: every query process prices the models it finds unpriced.

The Collector writes no cost, so ClickHouse prices LLM calls at read time through
``crewscope_prices_dict`` (sql/schema.sql), from ``crewscope_prices``. `PriceSync` adds a
row for each (provider, model) of an LLM call that has none (``crewscope_call_models``, one
row per pair, kept by a view as calls arrive), from the same `PriceBook` the DuckDB
exporter prices with (genai-prices, ``CREWSCOPE_PRICES_FILE``): idempotent, so any number
of processes may run it; the table is a ReplacingMergeTree.
"""

from __future__ import annotations

import logging
import threading
import time

from crewscope.exporter.pricing import default_price_book
from crewscope.query_api.store.clickhouse.queries import clickhouse_query
from crewscope.query_api.store.session import Session

logger = logging.getLogger(__name__)

UNPRICED = clickhouse_query("schema/unpriced_models")
INSERT_PRICE = clickhouse_query("schema/insert_price")
RELOAD = clickhouse_query("schema/reload_prices")
MIN_INTERVAL_S = 2.0


class PriceSync:
    """Prices new models at most every `MIN_INTERVAL_S` (checked before each request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0
        self.last_sync: float | None = None
        self.last_error: str | None = None

    def sync(self, s: Session, *, force: bool = False) -> int:
        """Add prices for unpriced models; returns how many were added."""
        now = time.monotonic()
        if not force and now < self._next:
            return 0
        if not self._lock.acquire(blocking=force):
            return 0
        try:
            self._next = now + MIN_INTERVAL_S
            added = 0
            book = default_price_book()
            for provider, model in s.tuples(UNPRICED):
                rate = book.rate(model, provider or None)
                s.execute(
                    INSERT_PRICE,
                    {
                        "provider": provider,
                        "model": model,
                        "known": rate is not None,
                        "fixed": rate.fixed if rate else 0.0,
                        "input": rate.input if rate else 0.0,
                        "output": rate.output if rate else 0.0,
                        "cache_read": rate.cache_read if rate else 0.0,
                        "cache_write": rate.cache_write if rate else 0.0,
                    },
                )
                added += 1
            if added:
                s.execute(RELOAD)
            self.last_sync = time.time()
            self.last_error = None
            return added
        except Exception as exc:  # noqa: BLE001 - reads go on with the prices known so far
            self.last_error = f"{type(exc).__name__}: {exc}"
            logger.warning("pricing new models failed: %s", exc)
            return 0
        finally:
            self._lock.release()

    # The DuckDB projections' interface, for the jobs and the health endpoint.
    def verify(self, s: Session) -> bool:
        return True

    def rebuild(self, s: Session) -> int:
        return self.sync(s, force=True)
