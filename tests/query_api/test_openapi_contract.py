"""The OpenAPI schema is the contract: schemathesis over every operation of the app.

The app serves a real DuckDB file seeded with generated runs (tests/helpers/seed.py) and its
rollups. For each operation schemathesis sends its coverage-phase cases (boundary and
schema-invalid values of every parameter) and fuzzed cases, valid and schema-invalid, and
checks that no answer is a 5xx, every status code and content type is documented, every
body conforms to its schema, schema-invalid input is rejected (4xx) and valid input is
not (no 422 for a valid request). Deterministic (derandomized) and bounded in examples.

Not covered: the WebSocket live feed (not in the schema) and the OTLP ingest routes
(``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs``: binary protobuf bodies, tested in
tests/exporter/receiver).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient

from crewscope.query_api import create_app
from crewscope.query_api.dates import utcnow
from tests.helpers.contract import (
    CHECKS,
    NoLifespan,
    fuzz_settings,
    fuzzed_schema,
    published_schema,
)
from tests.helpers.seed import seed_database
from tests.helpers.served import API

MAX_EXAMPLES = 50  # fuzzed cases per operation, on top of the coverage phase's
CASES: Counter[str] = Counter()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app (lifespan started) over a seeded file, with its rollups."""
    path = tmp_path_factory.mktemp("contract") / "seeded.duckdb"
    seed_database(str(path), utcnow())
    app = create_app(str(path), rollup_interval_s=0, retention_days=None, self_telemetry=False)
    with TestClient(app) as client:
        assert client.post(f"{API}/rollups/refresh").status_code == 200
        yield client
    print(f"\ncontract: {CASES.total()} cases over {len(CASES)} method+path pairs")


@pytest.fixture(scope="module")
def app(client: TestClient) -> NoLifespan:
    return NoLifespan(client.app)


schema = fuzzed_schema(published_schema(), MAX_EXAMPLES)


@schema.parametrize()
@fuzz_settings(MAX_EXAMPLES)
def test_every_operation_keeps_the_contract(case: schemathesis.Case, app: NoLifespan) -> None:
    CASES[f"{case.method} {case.path}"] += 1
    case.call_and_validate(app=app, checks=CHECKS)


def test_every_error_has_the_one_documented_shape() -> None:
    """Each documented 4xx is the validation error body; routes answering 404 document it."""
    document = published_schema()
    error = {"$ref": "#/components/schemas/HTTPValidationError"}
    operations = {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    for name, operation in operations.items():
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                assert response["content"]["application/json"]["schema"] == error, (name, status)
    for name in (
        f"GET {API}/runs/{{run_id}}",
        f"GET {API}/tasks/{{task_id}}",
        f"GET {API}/agents/{{agent}}/metrics",
        f"GET {API}/agents/{{agent}}/memory/stats",
    ):
        assert "404" in operations[name]["responses"], name
    assert "range_reversed" in operations[f"GET {API}/runs"]["responses"]["422"]["description"]


@pytest.mark.parametrize(
    ("query", "status", "error_type"),
    [
        # Instants outside what a nanosecond timestamp holds were a 500: now clamped.
        ("runs?start_date_from=1600-01-01T00:00:00Z", 200, None),
        ("tasks?start_date_to=0001-01-01T00:00:00%2B01:00", 200, None),
        ("runs?start_date_to=9999-12-31T23:59:59Z", 200, None),
        ("metrics/process/series?end=1000-01-01T00:00:00Z&resolution=1d", 200, None),
        ("rollups/daily?date_from=0001-01-01&date_to=1600-01-01", 200, None),
        # Epoch numbers and bare dates are not the documented date-time: 422.
        ("export/runs?start_date_to=0.5", 422, "value_error"),
        ("runs?start_date_from=2025-01-01", 422, "value_error"),
        ("rollups/daily?date_to=0", 422, "value_error"),
        # Rules the schema cannot express: 422 with the documented type.
        (
            "runs?start_date_from=2025-02-01T00:00:00&start_date_to=2025-01-01T00:00:00",
            422,
            "range_reversed",
        ),
        ("metrics/tokens/series?start=2000-01-01T00:00:00Z", 422, "range_too_large"),
        # A 404 has the same body.
        (f"runs/{'0' * 16}", 404, "not_found"),
        ("agents/Nobody/metrics", 404, "not_found"),
    ],
)
def test_reported_inputs(
    client: TestClient, query: str, status: int, error_type: str | None
) -> None:
    r = client.get(f"{API}/{query}")
    assert r.status_code == status, r.text
    if error_type is not None:
        [error] = r.json()["detail"]
        assert error["type"] == error_type and error["msg"] and error["loc"], error
