"""USD cost of one LLM call from its model, provider and token counts.

Prices come from the offline `genai-prices` snapshot, overridden per model by a user JSON
file named in ``CREWSCOPE_PRICES_FILE``::

    {"my-model": {"input_per_mtok": 0.15, "output_per_mtok": 0.6,
                  "cache_read_per_mtok": 0.075},
     "my-embedder": {"input_per_mtok": 0.02}}

Cache prices default to the input price, the output price to 0 (embedding models have
none; embeddings calls are priced on their input only, see `span_rows.promote`).
An unknown model costs ``None`` (never 0), so sums over spans show what is unpriced.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # genai_prices is imported lazily (see `preload`)
    from genai_prices.types import ModelPrice

logger = logging.getLogger(__name__)

CREWSCOPE_PRICES_FILE = "CREWSCOPE_PRICES_FILE"
"""Path of a JSON file of per-model prices (USD per million tokens) that override genai-prices."""

_BASIS = 1000  # tokens per basis measurement; well below every tier threshold
_CACHE_LIMIT = 4096  # model names come from spans: bound the cache against junk names


@dataclass(frozen=True)
class ModelRate:
    """Affine price of one model: ``fixed + sum(tokens * per_token)`` while input stays small."""

    input: float  # per uncached input token
    output: float
    cache_read: float
    cache_write: float
    fixed: float = 0.0  # per-request charge
    linear_up_to: float = float("inf")  # above this many input tokens, tiers apply
    exact: ModelPrice | None = None  # for calls above linear_up_to

    def cost(
        self, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int
    ) -> float:
        """Cost in USD; `input_tokens` includes the cached ones (OTel GenAI semconv)."""
        if input_tokens > self.linear_up_to and self.exact is not None:
            return _exact_cost(self.exact, input_tokens, output_tokens, cache_read, cache_write)
        uncached = max(input_tokens - cache_read - cache_write, 0)
        total = (
            self.fixed
            + uncached * self.input
            + output_tokens * self.output
            + cache_read * self.cache_read
            + cache_write * self.cache_write
        )
        return round(total, 12)  # drop float noise from the per-token split


class PriceBook:
    """Looks up and caches a `ModelRate` per (provider, model)."""

    def __init__(self, prices_file: str | None = None) -> None:
        self._overrides = _load_overrides(prices_file) if prices_file else {}
        self._cache: dict[tuple[str | None, str], ModelRate | None] = {}

    def rate(self, model: str, provider: str | None = None) -> ModelRate | None:
        """The rate for `model` (user file first, then genai-prices), or None if unknown."""
        key = (provider, model)
        try:
            return self._cache[key]
        except KeyError:
            pass
        rate = self._overrides.get(model) or self._overrides.get(model.lower())
        if rate is None:
            rate = _genai_prices_rate(model, provider)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = rate
        return rate

    def cost_usd(
        self,
        model: str,
        provider: str | None,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float | None:
        """Cost of one call in USD, or None when the model's price is unknown."""
        rate = self.rate(model, provider)
        if rate is None:
            return None
        try:
            return rate.cost(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
        except Exception:  # a library edge case must not cost us the span
            logger.debug("price calculation failed for %s", model, exc_info=True)
            return None


_default_book: PriceBook | None = None
_default_lock = threading.Lock()


def default_price_book() -> PriceBook:
    """The process-wide book, reading ``CREWSCOPE_PRICES_FILE`` once."""
    global _default_book
    if _default_book is None:
        with _default_lock:
            if _default_book is None:
                _default_book = PriceBook(os.environ.get(CREWSCOPE_PRICES_FILE) or None)
    return _default_book


def cost_usd(model: str, provider: str | None, *tokens: int) -> float | None:
    """`PriceBook.cost_usd` (tokens: input, output[, cache read, cache write]) from the
    default book; None for an unknown model."""
    return default_price_book().cost_usd(model, provider, *tokens)


def _load_overrides(path: str) -> dict[str, ModelRate]:
    """The rates of a price file; a bad file is ignored with one warning (tracing goes on)."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        if not isinstance(raw, dict):
            raise TypeError("expected an object of model names")
        return {str(name): _override_rate(name, p) for name, p in raw.items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:  # ValueError: bad JSON or number
        logger.warning("ignoring price file %s (%s: %s)", path, type(exc).__name__, exc)
        return {}


def _override_rate(name: str, prices: object) -> ModelRate:
    """One model's entry; ``output_per_mtok`` may be left out (embedding models)."""
    if not isinstance(prices, dict):
        raise TypeError(f"{name!r}: expected an object of prices")
    per_in = float(prices["input_per_mtok"])
    return ModelRate(
        input=per_in / 1e6,
        output=float(prices.get("output_per_mtok", 0.0)) / 1e6,
        cache_read=float(prices.get("cache_read_per_mtok", per_in)) / 1e6,
        cache_write=float(prices.get("cache_write_per_mtok", per_in)) / 1e6,
    )


def preload() -> None:
    """Import genai-prices (and, through it, httpx2) now, in the calling thread.

    Imported lazily from the exporter's background thread, the package's first import ran
    concurrently with the app's first OpenAI call, whose client probes ``httpx2`` in
    ``sys.modules`` and failed on the half-initialised module ("partially initialized module
    'httpx2' has no attribute 'Response'"). Exporters call this from their constructor, i.e.
    from the thread that sets telemetry up, before the app runs.
    """
    try:
        import genai_prices  # noqa: F401
        from genai_prices import data_snapshot  # noqa: F401
    except Exception:  # any import-time failure: pricing is optional, cost stays NULL
        logger.debug("genai-prices unavailable; costs are not computed", exc_info=True)


def _genai_prices_rate(model: str, provider: str | None) -> ModelRate | None:
    """Derive an affine rate from genai-prices by pricing a few basis usages.

    `ModelPrice.calc_price` costs ~120 µs per call; measuring it once per model keeps cost
    lookups under a microsecond while the library stays the source of truth.
    """
    try:
        from genai_prices import data_snapshot
        from genai_prices.types import TieredPrices

        snapshot = data_snapshot.get_snapshot()
        model_price = None
        for prov, ref in _candidates(model, provider):
            try:
                prov_info, info = snapshot.find_provider_model(ref, None, prov, None)
            except LookupError:
                continue
            model_price = info.get_prices(datetime.now(tz=timezone.utc))
            break
        if model_price is None:
            return None
        tiers = [
            t.start
            for v in model_price.__dict__.values()
            if isinstance(v, TieredPrices)
            for t in v.tiers
        ]
        fixed = _exact_cost(model_price, 0, 0, 0, 0)

        def per_token(i: int, o: int, cr: int, cw: int) -> float:
            return (_exact_cost(model_price, i, o, cr, cw) - fixed) / _BASIS

        return ModelRate(
            input=per_token(_BASIS, 0, 0, 0),
            output=per_token(0, _BASIS, 0, 0),
            cache_read=per_token(_BASIS, 0, _BASIS, 0),
            cache_write=per_token(_BASIS, 0, 0, _BASIS),
            fixed=fixed,
            linear_up_to=min(tiers) if tiers else float("inf"),
            exact=model_price,
        )
    except Exception:  # the library's data or code: an unpriced model, never a lost span
        logger.debug("no genai-prices rate for %s/%s", provider, model, exc_info=True)
        return None


def _candidates(model: str, provider: str | None) -> list[tuple[str | None, str]]:
    """(provider, model) pairs to try: as given, model alone, then a litellm-style prefix."""
    out: list[tuple[str | None, str]] = []
    if provider:
        out.append((provider, model))
    out.append((None, model))
    if "/" in model:
        prefix, rest = model.split("/", 1)
        out += [(prefix, rest), (None, rest)]
    return out


def _exact_cost(model_price: ModelPrice, i: int, o: int, cr: int, cw: int) -> float:
    from genai_prices import Usage

    usage = Usage(input_tokens=i, output_tokens=o, cache_read_tokens=cr, cache_write_tokens=cw)
    total: Decimal = model_price.calc_price(usage)["total_price"]
    return float(total)
