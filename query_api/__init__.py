"""crewscope.query_api: the FastAPI query API and dashboard over a crewscope DuckDB file.

``crewscope serve --db crewscope.duckdb`` runs it; in code, ``create_app(db_path)``.
"""

from crewscope.query_api.app import create_app

__all__ = ["create_app"]
