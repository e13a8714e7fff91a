"""System health: service statuses, a registered queue degrading the overall status."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers.served import API


def test_health(client: TestClient) -> None:
    body = client.get(f"{API}/system/health").json()
    names = {s["name"]: s for s in body["service_statuses"]}
    assert {"database", "ingest", "rollup_job", "retention_job", "ingest_queue"} <= set(names)
    assert "exporter_queue" not in names  # no placeholder for a queue nobody registered
    assert names["database"]["status"] == "healthy" and names["database"]["metrics"]["spans"] > 0
    assert body["overall_status"] == "healthy"
    depth = {"n": 0}
    client.app.state.health.register_queue("exporter_queue", lambda: depth["n"], capacity=10)  # type: ignore[attr-defined]
    depth["n"] = 9
    body = client.get(f"{API}/system/health").json()
    assert body["overall_status"] == "degraded"
    client.app.state.health.register_queue("exporter_queue", lambda: 0, capacity=10)  # type: ignore[attr-defined]
    assert client.get(f"{API}/system/health").json()["overall_status"] == "healthy"
