"""The installed crewscope version (from the package metadata)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version


@cache
def version() -> str:
    try:
        return _dist_version("crewscope")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
