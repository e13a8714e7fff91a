"""The OpenAPI contract with access control on: schemathesis over every operation of the
document a server with an auth file publishes (bearer security, 401 and 403 on each), called
through the gate with a read token of one tenant (over a seeded store), and without one."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient

from crewscope.query_api.access.auth_file import load_auth_file
from crewscope.query_api.access.tenant_app import tenant_gate
from crewscope.query_api.dates import utcnow
from tests.helpers.contract import CHECKS, NoLifespan, fuzz_settings, fuzzed_schema
from tests.helpers.seed import seed_database
from tests.helpers.served import API

MAX_EXAMPLES = 10  # per operation, on top of the coverage phase (the open server has 50)
SKIPPED_PATHS = ("/v1/traces", "/v1/metrics", "/v1/logs", f"{API}/rollups/refresh")
READ = "contract-read-token-0001"
AUTH = {"tokens": [{"token": READ, "tenant": "team-a", "scopes": ["read"]}]}
CASES: Counter[str] = Counter()


def _gate(folder: Path) -> Any:
    auth_path = folder / "auth.json"
    auth_path.write_text(json.dumps(AUTH))
    return tenant_gate(
        str(folder / "c.duckdb"), load_auth_file(auth_path), rollup_interval_s=0,
        retention_days=None, self_telemetry=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoLifespan]:
    folder = tmp_path_factory.mktemp("gated-contract")
    seed_database(str(folder / "c.team-a.duckdb"), utcnow())  # team-a's store
    gate = _gate(folder)
    with TestClient(gate) as client:
        headers = {"Authorization": f"Bearer {READ}"}
        assert client.get(f"{API}/runs", headers=headers).json()["total"] > 0
        yield NoLifespan(gate)
    print(f"\ngated contract: {CASES.total()} cases over {len(CASES)} method+path pairs")


def _published_schema() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        gate = _gate(Path(tmp))
        with TestClient(gate) as client:
            document: dict[str, Any] = client.get("/openapi.json").json()
    return document


schema = fuzzed_schema(_published_schema(), MAX_EXAMPLES)


@schema.parametrize()
@fuzz_settings(MAX_EXAMPLES)
def test_every_operation_keeps_the_contract_behind_the_gate(
    case: schemathesis.Case, gated: NoLifespan
) -> None:
    CASES[f"{case.method} {case.path}"] += 1
    headers = {**(case.headers or {}), "Authorization": f"Bearer {READ}"}
    case.call_and_validate(app=gated, checks=CHECKS, headers=headers)


def test_every_operation_declares_its_refusals() -> None:
    document = _published_schema()
    error = {"$ref": "#/components/schemas/HTTPValidationError"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["security"] == [{"bearer": []}], (method, path)
            for status in ("401", "403"):
                body = operation["responses"][status]["content"]["application/json"]["schema"]
                assert body == error, (method, path, status)
