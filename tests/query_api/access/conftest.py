"""A real ``crewscope serve`` with an auth file and two tenants, and real crews sending to it.

Team A's app sends over OTLP/HTTP, team B's over OTLP/gRPC (traces, logs) and HTTP
(metrics), both with the official OTLP exporters that ``opentelemetry-instrument`` sets up
from the standard environment variables, and each with its own bearer token. Team B's app
claims to be team A (``crewscope.tenant=team-a`` in ``OTEL_RESOURCE_ATTRIBUTES``): what it
sends must still land in team B's store, stamped ``team-b``.

The server is shared by this package's modules; ``test_tenants.py`` (collected last) ends
with a test that stops it to read the stores' files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import subprocess_env
from tests.reliability.serve_proc import ServeProcess, start_serve

API = "/api/v1/monitoring"

TOKENS = {
    "a": "team-a-reads-and-sends-0001",
    "b": "team-b-reads-and-sends-0002",
    "a_ingest": "team-a-only-sends-00003",
    "a_read": "team-a-only-reads-00004",
    "a_admin": "team-a-runs-jobs-000005",
}
AUTH = {
    "tokens": [
        {"token": TOKENS["a"], "tenant": "team-a", "scopes": ["ingest", "read"]},
        {"token": TOKENS["b"], "tenant": "team-b", "scopes": ["ingest", "read"]},
        {"token": TOKENS["a_ingest"], "tenant": "team-a", "scopes": ["ingest"]},
        {"token": TOKENS["a_read"], "tenant": "team-a", "scopes": ["read"]},
        {"token": TOKENS["a_admin"], "tenant": "team-a", "scopes": ["admin"]},
    ]
}

APP = textwrap.dedent(
    """
    import json, logging, os
    from crewai import Agent, Crew, LLM, Process, Task

    llm = LLM(model="gpt-4o-mini", base_url=os.environ["FAKE_LLM_URL"], api_key="sk-local")
    role = os.environ["AGENT_ROLE"]
    agent = Agent(role=role, goal="Answer briefly", backstory="An analyst", llm=llm)
    tasks = [
        Task(name=os.environ["TASK_NAME"], description="Summarise {topic}",
             expected_output="One line", agent=agent),
    ]
    crew = Crew(name=os.environ["CREW_NAME"], agents=[agent], tasks=tasks,
                process=Process.sequential)
    out = crew.kickoff(inputs={"topic": "tenants"})
    logging.getLogger("tenant.app").warning("finished %s", os.environ["CREW_NAME"])
    print(json.dumps({"raw": out.raw}))
    """
)


@dataclass(frozen=True)
class Team:
    key: str
    tenant: str
    crew: str
    role: str
    task: str
    service: str

    @property
    def token(self) -> str:
        return TOKENS[self.key]

    @property
    def markers(self) -> tuple[str, ...]:
        """Strings only this team's data holds."""
        return (self.crew, self.role, self.task, self.service)


TEAM_A = Team("a", "team-a", "alpha_crew", "Alpha Analyst", "alpha_task", "alpha-service")
TEAM_B = Team("b", "team-b", "beta_crew", "Beta Analyst", "beta_task", "beta-service")


@dataclass
class TenantServer:
    serve: ServeProcess
    auth_path: Path
    runs: dict[str, list[dict[str, Any]]]
    """Each tenant's runs as its own token lists them."""

    @property
    def url(self) -> str:
        return self.serve.url

    def call(
        self,
        path: str,
        token: str | None = None,
        *,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body of one request (no redirects)."""
        req = urllib.request.Request(self.url + path, data=body, method=method)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(req, timeout=30) as resp:
                return resp.status, _lower(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, _lower(exc.headers), exc.read()

    def json(self, path: str, token: str) -> Any:
        status, _, body = self.call(path, token)
        assert status == 200, (path, status, body[:500])
        return json.loads(body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def run_team_app(tmp: Path, team: Team, llm_url: str, serve: ServeProcess) -> None:
    """Team's crew, instrumented with ``opentelemetry-instrument``, sending to `serve`."""
    app = tmp / "tenant_app.py"
    app.write_text(APP)
    headers = "authorization=" + urllib.parse.quote(f"Bearer {team.token}")
    env = {
        "FAKE_LLM_URL": llm_url,
        "OPENAI_API_KEY": "sk-local",
        "CREW_NAME": team.crew,
        "AGENT_ROLE": team.role,
        "TASK_NAME": team.task,
        "OTEL_SERVICE_NAME": team.service,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
        "OTEL_EXPORTER_OTLP_HEADERS": headers,
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
    }
    http = serve.url
    if team is TEAM_A:
        env |= {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": http}
    else:
        assert serve.grpc_port is not None
        env |= {
            # claims to be team A: the token decides, not this
            "OTEL_RESOURCE_ATTRIBUTES": "crewscope.tenant=team-a",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{serve.grpc_port}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": f"{http}/v1/metrics",
        }
    bindir = Path(sys.executable).parent
    proc = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), str(bindir / "python"), str(app)],
        env=subprocess_env(**env), capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Failed to export" not in proc.stderr, proc.stderr[-3000:]


def wait_up(serve: ServeProcess, token: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if serve.proc.poll() is not None:
            raise AssertionError(f"crewscope serve exited:\n{serve.log_tail()}")
        req = urllib.request.Request(f"{serve.url}{API}/system/health")
        req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=5):
                return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"crewscope serve not up:\n{serve.log_tail()}")
        time.sleep(0.1)


def wait_runs(serve_url: str, team: Team, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """The team's runs once its crew run is stored as completed."""
    deadline = time.monotonic() + timeout_s
    while True:
        req = urllib.request.Request(f"{serve_url}{API}/runs")
        req.add_header("Authorization", f"Bearer {team.token}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            runs: list[dict[str, Any]] = json.loads(resp.read())["runs"]
        if any(r.get("status") == "completed" for r in runs):
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(f"{team.tenant}: no completed run in {runs}")
        time.sleep(0.2)


@pytest.fixture(scope="package")
def tenant_server(
    tmp_path_factory: pytest.TempPathFactory, fake_llm: Any
) -> Iterator[TenantServer]:
    tmp = tmp_path_factory.mktemp("tenants")
    auth_path = tmp / "auth.json"
    auth_path.write_text(json.dumps(AUTH))
    auth_path.chmod(0o600)
    serve = start_serve(
        tmp / "crewscope.duckdb", tmp / "serve.log", grpc=True, wait=False,
        rollup_interval_s=1.0, CREWSCOPE_AUTH_FILE=str(auth_path),
    )  # fmt: skip
    try:
        wait_up(serve, TOKENS["a"])
        for team in (TEAM_A, TEAM_B):
            run_team_app(tmp, team, fake_llm.base_url, serve)
        runs = {team.tenant: wait_runs(serve.url, team) for team in (TEAM_A, TEAM_B)}
        yield TenantServer(serve, auth_path, runs)
    finally:
        serve.stop()
