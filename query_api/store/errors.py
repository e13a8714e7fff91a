"""Errors of setting up a store, for any engine (importable without an engine's client)."""

from __future__ import annotations


class StoreSetupError(RuntimeError):
    """The store cannot be used as it is (the message says what to do)."""
