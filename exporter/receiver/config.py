"""Reading the receiver's ``CREWSCOPE_INGEST_*`` settings from the environment.

A value that is not what a setting expects raises `ConfigError` naming the variable, the
value and what is expected (``crewscope serve`` prints that line and exits 2). An unset or
empty variable means the default.
"""

from __future__ import annotations

import math
import os


class ConfigError(ValueError):
    """A setting with a value it cannot take; the message says which, and what it expects."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"{name}={value!r} is not valid: expected {expected}")
        self.name = name
        self.value = value
        self.expected = expected


def _raw(name: str) -> str | None:
    raw = os.environ.get(name, "").strip()
    return raw or None


def env_int(name: str, default: int, *, minimum: int, what: str = "a whole number") -> int:
    """``int(os.environ[name])``, at least `minimum`; `default` when unset or empty."""
    raw = _raw(name)
    if raw is None:
        return default
    expected = f"{what} of at least {minimum} (default {default})"
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, raw, expected) from None
    if value < minimum:
        raise ConfigError(name, raw, expected)
    return value


def env_seconds(name: str, default: float) -> float:
    """A positive, finite number of seconds from ``os.environ[name]``; `default` when unset."""
    raw = _raw(name)
    if raw is None:
        return default
    expected = f"a number of seconds greater than 0 (default {default:g})"
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, raw, expected) from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(name, raw, expected)
    return value
