"""Fixtures: a real uvicorn crewscope server, a real Prometheus server, a CPU-burning child."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests._served import Served, free_port, served_factory, wait_until


@pytest.fixture
def make_served(tmp_path: Path) -> Iterator[Any]:
    yield from served_factory(tmp_path)


@pytest.fixture
def served(make_served: Any) -> Served:
    return make_served()


@pytest.fixture
def otlp_crew(served: Served, fake_llm: Any) -> Iterator[Any]:
    """run(name) kicks off the demo crew, its spans sent to the server over OTLP/HTTP."""
    from crewscope.demo.crew import build_crew, make_llm
    from crewscope.instrumentation import CrewAIInstrumentor

    provider = TracerProvider(resource=Resource.create({"service.name": "live-crew"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{served.url}/v1/traces")))
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)

    def run(name: str) -> list[Any]:
        fake_llm.reset()
        build_crew(make_llm(fake_llm.base_url, max_retries=0), name=name).kickoff(
            inputs={"topic": name}
        )
        return list(fake_llm.calls)

    try:
        yield run
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


# --- a real Prometheus server -------------------------------------------------------------


@dataclass
class Prometheus:
    url: str
    proc: subprocess.Popen[bytes]

    def query(self, promql: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=5) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def wait_value(self, promql: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        return wait_until(lambda: self.query(promql), timeout, 0.5, f"PromQL {promql}")

    def targets_up(self) -> dict[str, str]:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=5) as r:
            body = json.loads(r.read())
        return {t["labels"]["job"]: t["health"] for t in body["data"]["activeTargets"]}


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Any]:
    """start(jobs={"name": "127.0.0.1:port"}) -> a Prometheus scraping them every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip(
            "the prometheus server is not installed (Debian: apt-get install -y prometheus)"
        )
    procs: list[subprocess.Popen[bytes]] = []

    def start(jobs: dict[str, str]) -> Prometheus:
        port = free_port()
        scrape = "\n".join(
            f"""  - job_name: {name}
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['{target}']"""
            for name, target in jobs.items()
        )
        config = tmp_path / "prometheus.yml"
        config.write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n{scrape}\n")
        log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        prom = Prometheus(f"http://127.0.0.1:{port}", proc)

        def ready() -> bool:
            assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()
            try:
                with urllib.request.urlopen(f"{prom.url}/-/ready", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_until(ready, 30, 0.2, "prometheus ready")
        return prom

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- a child process that burns CPU and holds memory ----------------------------------------

BURNER = textwrap.dedent(
    """
    import sys, time
    block = bytearray(int(sys.argv[1]) * 1024 * 1024)
    for i in range(0, len(block), 4096):
        block[i] = 1
    print("ready", flush=True)
    end = time.time() + float(sys.argv[2])
    x = 0
    while time.time() < end:
        x += 1
    """
)


@pytest.fixture
def burner() -> Iterator[Any]:
    """start(mb, seconds) -> a child holding `mb` MiB and spinning one CPU."""
    procs: list[subprocess.Popen[str]] = []

    def start(mb: int = 64, seconds: float = 30.0) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", BURNER, str(mb), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(5)
