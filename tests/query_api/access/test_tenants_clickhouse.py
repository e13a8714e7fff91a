"""Tenants on ClickHouse (the embedded engine): each tenant's data in its own database beside
the one the store names, each token reading only its own, rows stamped with the token's
tenant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crewscope.query_api.access.auth_file import load_auth_file
from crewscope.query_api.access.tenant_app import tenant_gate
from crewscope.query_api.access.tenant_stores import tenant_database
from tests.helpers.chdb import chdb_client, chdb_url, unique_database
from tests.helpers.otlp import send_demo_crew
from tests.helpers.served import API, serve_app, wait_until

TOKENS = {"team-a": "clickhouse-team-a-token-1", "team-b": "clickhouse-team-b-token-2"}


@pytest.fixture
def gate_url(tmp_path: Path) -> Iterator[tuple[str, str]]:
    auth_path = tmp_path / "auth.json"
    tokens = [{"token": t, "tenant": n, "scopes": ["ingest", "read"]} for n, t in TOKENS.items()]
    auth_path.write_text(json.dumps({"tokens": tokens}))
    database = unique_database("tenants")
    gate = tenant_gate(chdb_url(database), load_auth_file(auth_path), rollup_interval_s=0,
                       retention_days=None)  # fmt: skip
    server, thread, port = serve_app(gate)
    try:
        yield f"http://127.0.0.1:{port}", database
    finally:
        server.should_exit = True
        thread.join(30)


def _crew(url: str, tenant: str, base_url: str, name: str) -> None:
    send_demo_crew(
        f"{url}/v1/traces", base_url, name,
        headers={"authorization": f"Bearer {TOKENS[tenant]}"},
        resource={"service.name": name, "crewscope.tenant": "team-b"},  # a claim
    )  # fmt: skip


def test_each_tenant_reads_its_own_database(gate_url: tuple[str, str], llm_server: Any) -> None:
    import httpx

    url, database = gate_url
    _crew(url, "team-a", llm_server.base_url, "ch_alpha_crew")
    _crew(url, "team-b", llm_server.base_url, "ch_beta_crew")
    mine = {"team-a": "ch_alpha_crew", "team-b": "ch_beta_crew"}
    for tenant, token in TOKENS.items():
        headers = {"Authorization": f"Bearer {token}"}

        def runs(headers: dict[str, str] = headers) -> list[dict[str, Any]]:
            reply = httpx.get(f"{url}{API}/runs", headers=headers, timeout=30)
            assert reply.status_code == 200, reply.text
            return list(reply.json()["runs"])

        got = wait_until(runs, timeout=60, what=f"{tenant}'s run")
        assert {r["crew"] for r in got} == {mine[tenant]}
        for path in ("/agents", "/tasks", "/dashboard", "/export/runs?format=json", "/llm"):
            text = httpx.get(f"{url}{API}{path}", headers=headers, timeout=30).text
            other = next(c for t, c in mine.items() if t != tenant)
            assert other not in text, (tenant, path)
        assert httpx.get(f"{url}{API}/runs", timeout=30).status_code == 401
        stamped = (
            chdb_client()
            .query(
                f"SELECT DISTINCT ResourceAttributes['crewscope.tenant'], ServiceName "
                f"FROM {tenant_database(database, tenant)}.otel_traces WHERE ServiceName LIKE 'ch_%'"
            )
            .result_rows
        )
        assert stamped == [(tenant, mine[tenant])], stamped
