"""crewscope.query_api: the FastAPI query API and dashboard over a crewscope database.

``crewscope serve --db crewscope.duckdb`` runs it; in code, ``create_app(db_path)``. Needs the
``crewscope[server]`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crewscope.query_api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so `crewscope.query_api.cli` can explain a missing server extra in one line.
    if name == "create_app":
        from crewscope.query_api.app import create_app

        return create_app
    raise AttributeError(name)
