"""Where each tenant's data lives: one store per tenant, next to the one ``--store`` names.

- a DuckDB file ``crewscope.duckdb`` -> ``crewscope.team-a.duckdb`` beside it;
- ClickHouse (``clickhouse://…/otel``, ``chdb:///PATH?database=otel``) -> the database
  ``otel_team_a`` (``-`` becomes ``_``) on the same server or in the same directory.

Separate stores keep tenants apart by construction: no query, rollup, export, live-feed
message or Prometheus series of one tenant's store can hold another's rows.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crewscope.query_api.store.clickhouse.location import DEFAULT_DATABASE, parse_store


class TenantStoreError(ValueError):
    """Two tenants would share one store (e.g. ``team-a`` and ``team_a`` on ClickHouse)."""


def tenant_database(database: str, tenant: str) -> str:
    return f"{database}_{tenant.replace('-', '_')}"


def tenant_store(store: str, tenant: str) -> str:
    """The ``--store`` value of `tenant`'s store, derived from the server's `store`."""
    location = parse_store(store)
    if location.engine == "duckdb":
        path = Path(location.path or store)
        suffix = path.suffix or ".duckdb"
        return str(path.with_name(f"{path.stem if path.suffix else path.name}.{tenant}{suffix}"))
    parts = urlsplit(store)
    database = tenant_database(location.database, tenant)
    if location.engine == "chdb":
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "database"]
        # built by hand: urlunsplit drops the "//" of an empty host
        query_text = urlencode([*query, ("database", database)])
        return f"chdb://{parts.netloc}{parts.path}?{query_text}"
    return urlunsplit(parts._replace(path=f"/{database}"))


def tenant_stores(store: str, tenants: list[str]) -> dict[str, str]:
    """`tenant_store` of each tenant; refuses tenants that would share a store."""
    stores: dict[str, str] = {}
    owner: dict[str, str] = {}
    for tenant in tenants:
        where = tenant_store(store, tenant)
        if where in owner:
            raise TenantStoreError(
                f"tenants {owner[where]!r} and {tenant!r} would share one store ({where}): "
                "rename one of them in the auth file"
            )
        owner[where] = tenant
        stores[tenant] = where
    return stores


__all__ = ["DEFAULT_DATABASE", "TenantStoreError", "tenant_database", "tenant_store"]
