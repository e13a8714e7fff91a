"""Reading the receiver's ``CREWSCOPE_INGEST_*`` settings from the environment.

A value that is not what a setting expects raises `ConfigError` naming the variable, the
value and what is expected (``crewscope serve`` prints that line and exits 2). An unset or
empty variable means the default.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


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


def _env(
    name: str, default: T, parse: Callable[[str], T], ok: Callable[[T], bool], expected: str
) -> T:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ConfigError(name, raw, expected) from None
    if not ok(value):
        raise ConfigError(name, raw, expected)
    return value


def env_int(name: str, default: int, *, minimum: int, what: str = "a whole number") -> int:
    """``int(os.environ[name])``, at least `minimum`; `default` when unset or empty."""
    expected = f"{what} of at least {minimum} (default {default})"
    return _env(name, default, int, lambda v: v >= minimum, expected)


def env_seconds(name: str, default: float) -> float:
    """A positive, finite number of seconds from ``os.environ[name]``; `default` when unset."""
    expected = f"a number of seconds greater than 0 (default {default:g})"
    return _env(name, default, float, lambda v: math.isfinite(v) and v > 0, expected)
