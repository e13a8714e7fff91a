"""The app: every endpoint in the OpenAPI schema; an empty database gives empty results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from tests.helpers.served import API


def test_empty_database_gives_empty_results(
    tmp_path: Path, make_client: Callable[[str], TestClient]
) -> None:
    client = make_client(str(tmp_path / "empty.duckdb"))
    for url in (
        "/runs", "/tasks", "/agents", "/rollups/daily", "/dashboard", "/tools", "/llm",
        "/memory/stats", "/endpoints", "/system/health", "/export/runs", "/export/tasks?format=json",
    ):  # fmt: skip
        r = client.get(API + url)
        assert r.status_code == 200, url
    assert client.get(f"{API}/runs").json()["runs"] == []
    assert client.get(f"{API}/agents").json()["agents"] == []
    assert client.get(f"{API}/export/tasks?format=json").json() == []
    assert client.post(f"{API}/rollups/refresh").status_code == 200
    assert client.get("/").status_code == 200  # the web UI shell
    assert client.get(f"{API}/agents/x/metrics").status_code == 404


def test_openapi_lists_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/runs", "/runs/{run_id}", "/tasks", "/tasks/{task_id}", "/agents",
        "/agents/{agent}/metrics", "/agents/{agent}/memory/stats", "/rollups/daily",
        "/rollups/refresh", "/dashboard", "/tools", "/llm", "/memory/stats", "/endpoints",
        "/system/health", "/export/{dataset}",
    ):  # fmt: skip
        assert f"{API}{path}" in paths, path
    assert client.get("/docs").status_code == 200


def test_a_parameter_given_twice_is_refused(client: TestClient) -> None:
    """FastAPI would keep the last value; the schema allows one, so the API refuses (422)."""
    for path in ("/metrics/process?pid=0.5&pid=0", "/runs?limit=5&limit=6"):
        reply = client.get(API + path)
        assert reply.status_code == 422, path
        (error,) = reply.json()["detail"]
        assert error["type"] == "repeated_parameter" and error["loc"][0] == "query"
    assert client.get(API + "/runs?limit=5&offset=0").status_code == 200
