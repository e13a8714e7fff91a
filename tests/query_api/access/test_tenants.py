"""Two tenants on one ``crewscope serve``: each token reads only its own tenant's data,
through every operation of the published OpenAPI document, the exports and ``/metrics``;
what a client sends lands in its token's tenant whatever it claims; the stores are apart
on disk and no token reaches the server's log."""

from __future__ import annotations

import json
import signal
import time
from typing import Any
from urllib.parse import quote

import duckdb
import pytest

from tests.helpers.otlp import send_demo_crew
from tests.query_api.access.conftest import API, TEAM_A, TEAM_B, TOKENS, Team, TenantServer

PATH_PARAMS = ("run_id", "task_id", "agent", "dataset")


def _openapi(server: TenantServer) -> dict[str, Any]:
    status, _, body = server.call("/openapi.json")
    assert status == 200
    document: dict[str, Any] = json.loads(body)
    return document


def _get_operations(server: TenantServer) -> list[str]:
    paths = [p for p, ops in _openapi(server)["paths"].items() if "get" in ops]
    assert len(paths) >= 25, paths  # the document lists every query operation
    return paths


def _ids(server: TenantServer, team: Team) -> dict[str, list[str]]:
    """Values of each path parameter that name this team's data."""
    runs = server.runs[team.tenant]
    tasks = server.json(f"{API}/tasks", team.token)["tasks"]
    assert tasks, f"{team.tenant} has no tasks"
    return {
        "run_id": [r["run_id"] for r in runs],
        "task_id": [t["task_id"] for t in tasks],
        "agent": [team.role],
        "dataset": ["runs", "tasks", "rollups_agent", "rollups_crew", "logs"],
    }


def _markers(server: TenantServer, team: Team) -> tuple[str, ...]:
    """Strings that only this team's data holds: names, and its run and trace ids."""
    runs = server.runs[team.tenant]
    ids = [r["run_id"] for r in runs] + [r["trace_id"] for r in runs]
    return (*team.markers, *ids)


def _fill(path: str, ids: dict[str, list[str]]) -> list[str]:
    """`path` with each parameter set to each of the team's values."""
    filled = [path]
    for name in PATH_PARAMS:
        if "{" + name + "}" in path:
            filled = [
                p.replace("{" + name + "}", quote(v, safe="")) for p in filled for v in ids[name]
            ]
    assert "{" not in filled[0], path
    return filled


def _seen(text: str, markers: tuple[str, ...]) -> list[str]:
    return [m for m in markers if m in text]


@pytest.fixture(scope="module")
def reads(tenant_server: TenantServer) -> dict[str, dict[str, tuple[int, str]]]:
    """Every GET operation (path parameters filled with the caller's own ids, exports in
    both formats) read with each team's token: {tenant: {url: (status, body)}}."""
    out: dict[str, dict[str, tuple[int, str]]] = {}
    for team in (TEAM_A, TEAM_B):
        ids = _ids(tenant_server, team)
        got: dict[str, tuple[int, str]] = {}
        for path in _get_operations(tenant_server):
            for url in _fill(path, ids):
                urls = [f"{url}?format=csv", f"{url}?format=json"] if "/export/" in url else [url]
                for u in urls:
                    status, _, body = tenant_server.call(u, team.token)
                    got[u] = (status, body.decode("utf-8", "replace"))
        out[team.tenant] = got
    return out


def test_every_read_answers_and_shows_only_the_callers_tenant(
    tenant_server: TenantServer, reads: dict[str, dict[str, tuple[int, str]]]
) -> None:
    pairs = ((TEAM_A, TEAM_B), (TEAM_B, TEAM_A))
    own_seen: dict[str, int] = {}
    for team, other in pairs:
        other_markers = _markers(tenant_server, other)
        own_markers = _markers(tenant_server, team)
        for url, (status, body) in reads[team.tenant].items():
            assert status == 200, (team.tenant, url, status, body[:300])
            assert not _seen(body, other_markers), (team.tenant, url, _seen(body, other_markers))
            own_seen[f"{team.tenant} {url}"] = len(_seen(body, own_markers))
    # the check above can fail: each team's own names and ids are there to be seen
    for team in (TEAM_A, TEAM_B):
        mine = {u: n for u, n in own_seen.items() if u.startswith(team.tenant) and n}
        assert len(mine) >= 15, (team.tenant, sorted(mine))
        for must in ("/runs", "/tasks", "/agents", "/export/runs?format=csv", "/logs"):
            assert any(u.split(" ", 1)[1] == f"{API}{must}" for u in mine), (team.tenant, must)
    metrics_b = reads[TEAM_B.tenant][f"{API}/metrics/process"][1]
    assert TEAM_B.service in metrics_b  # B's process metrics, sent over OTLP/HTTP, are B's


def test_another_tenants_ids_are_not_found(tenant_server: TenantServer) -> None:
    """Team A asking for team B's runs, tasks, agents and logs by id gets 404."""
    b_ids = _ids(tenant_server, TEAM_B)
    b_markers = _markers(tenant_server, TEAM_B)
    tried = 0
    for path in _get_operations(tenant_server):
        if not any("{" + p + "}" in path for p in ("run_id", "task_id", "agent")):
            continue
        for url in _fill(path, b_ids):
            status, _, body = tenant_server.call(url, TOKENS["a"])
            text = body.decode("utf-8", "replace")
            assert status == 404, (url, status, text[:300])
            others = tuple(m for m in b_markers if quote(m, safe="") not in url)  # not echoed
            assert not _seen(text, others), (url, text[:300])
            assert [d["type"] for d in json.loads(body)["detail"]], text  # the documented shape
            tried += 1
    assert tried >= 7, tried


def test_prometheus_series_are_the_callers_tenants(tenant_server: TenantServer) -> None:
    status_a, headers, body_a = tenant_server.call("/metrics", TOKENS["a_read"])
    status_b, _, body_b = tenant_server.call("/metrics", TOKENS["b"])
    assert status_a == status_b == 200
    assert headers["content-type"].startswith("text/plain")
    a, b = body_a.decode(), body_b.decode()
    for marker in _markers(tenant_server, TEAM_B):
        assert marker not in a
    for marker in _markers(tenant_server, TEAM_A):
        assert marker not in b
    assert f'agent="{TEAM_A.role}"' in a and f'agent="{TEAM_B.role}"' in b  # per-agent series


def _live_crew(server: TenantServer, team: Team, base_url: str, name: str) -> None:
    """The demo crew `name`, instrumented in this process, sent with `team`'s token."""
    send_demo_crew(
        f"{server.url}/v1/traces", base_url, name,
        headers={"authorization": f"Bearer {team.token}"},
        resource={"service.name": f"{name}-service"},
    )  # fmt: skip


def _read_until_run(ws: Any, crew: str, timeout_s: float = 60.0) -> list[str]:
    """Raw live messages until the run of `crew` completes."""
    messages: list[str] = []
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no run_completed of {crew} in {len(messages)} messages"
        raw = ws.recv(timeout=left)
        messages.append(raw)
        message = json.loads(raw)
        if message.get("event") == "run_completed" and crew in raw:
            return messages


def test_live_feed_messages_are_the_callers_tenants(
    tenant_server: TenantServer, fake_llm: Any
) -> None:
    from websockets.sync.client import connect

    ws_url = f"ws://127.0.0.1:{tenant_server.serve.port}{API}/live"
    sockets = {
        team.tenant: connect(
            ws_url, additional_headers={"Authorization": f"Bearer {team.token}"}, open_timeout=10
        )
        for team in (TEAM_A, TEAM_B)
    }
    try:
        for ws in sockets.values():
            assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        _live_crew(tenant_server, TEAM_B, fake_llm.base_url, "beta_live")
        _live_crew(tenant_server, TEAM_A, fake_llm.base_url, "alpha_live")
        seen_a = _read_until_run(sockets[TEAM_A.tenant], "alpha_live")
        seen_b = _read_until_run(sockets[TEAM_B.tenant], "beta_live")
    finally:
        for ws in sockets.values():
            ws.close()
    assert len(seen_a) >= 3 and len(seen_b) >= 3
    assert not [m for m in seen_a if "beta_live" in m or TEAM_B.crew in m]
    assert not [m for m in seen_b if "alpha_live" in m or TEAM_A.crew in m]


def test_stores_apart_stamped_by_token_and_no_token_in_the_log(
    tenant_server: TenantServer,
) -> None:
    """Last in this module: it stops the server to read the files."""
    assert tenant_server.serve.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises it
    base = tenant_server.serve.db_path
    for team, other in ((TEAM_A, TEAM_B), (TEAM_B, TEAM_A)):
        path = base.with_name(f"crewscope.{team.tenant}.duckdb")
        con = duckdb.connect(str(path), read_only=True)
        try:
            rows = con.execute(
                """SELECT ServiceName, ResourceAttributes['crewscope.tenant'], count(*)
                   FROM otel_traces GROUP BY ALL"""
            ).fetchall()
            logs = con.execute(
                "SELECT DISTINCT ResourceAttributes['crewscope.tenant'] FROM otel_logs"
            ).fetchall()
            metric_tenants = con.execute(
                """SELECT DISTINCT ResourceAttributes['crewscope.tenant'] FROM otel_metrics_sum
                   UNION SELECT DISTINCT ResourceAttributes['crewscope.tenant']
                   FROM otel_metrics_gauge"""
            ).fetchall()
        finally:
            con.close()
        services = {r[0] for r in rows}
        assert team.service in services and other.service not in services, rows
        app_rows = [r for r in rows if r[0] == team.service]
        assert all(r[1] == team.tenant for r in app_rows), rows  # team B's claim overwritten
        assert sum(r[2] for r in app_rows) >= 4
        assert logs and {r[0] for r in logs} == {team.tenant}, logs
        assert metric_tenants and {r[0] for r in metric_tenants} <= {team.tenant}, metric_tenants
    log = tenant_server.serve.log_path.read_text(errors="replace")
    assert "team-a" in log and "team-b" in log  # the server says where each tenant's data is
    for token in TOKENS.values():
        assert token not in log
