"""A real uvicorn server with the OTLP receiver over a real DuckDB file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests._served import Served, served_factory


@pytest.fixture
def make_served(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    yield from served_factory(tmp_path)


@pytest.fixture
def served(make_served: Callable[..., Served]) -> Served:
    return make_served()
