"""Fixtures for tests that run a real OpenTelemetry Collector.

``otelcol_binary`` (session): the Collector built by ``scripts/build_collector.sh``
(cached once per machine), or ``$CREWSCOPE_OTELCOL_BIN``. Tests skip, with the reason
shown, only when no Go toolchain is found; a failing build fails them.

``otlp_sink``: the second OTLP destination (a Collector writing JSON lines); see
``_collector.OtlpSink``.

``main_collector``: the repo's ``otel-collector.yaml`` with Jaeger/Tempo/Mimir pointed
at ``otlp_sink`` and crewscope at a closed port. Tests that need another setup (e.g. a
running ``crewscope serve``) use ``start_main_collector(sink=..., crewscope_endpoint=...,
extra_env={...})``; every Collector started through the fixtures is stopped at teardown
and its log tail is printed (pytest shows it when the test fails).

``jaeger_binary`` (session): Jaeger v2 built by ``scripts/build_jaeger.sh`` (cached once
per machine), or ``$CREWSCOPE_JAEGER_BIN``. No skip: without Go the fixture fails, since
the Jaeger tests exist to run against the real thing. ``jaeger``: one Jaeger process on
``jaeger.yaml`` (memory storage, every listener on a fresh 127.0.0.1 port), stopped at
teardown with its log tail printed.

The harness lives in ``_collector.py`` and is imported here by path, since the tests are
not a package (``--import-mode=importlib``); test modules reach it through the
``collector_harness`` fixture.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load_harness() -> ModuleType:
    name = "crewscope_tests_collector_harness"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_collector.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


harness = _load_harness()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give tests that may trigger the first Collector build room for it.

    The default per-test timeout (pyproject) is too short for a cold build (about
    3 minutes here, longer on a slow proxy); once the binary is cached the default
    applies again. Likewise for the first Jaeger build (``jaeger_binary``): its time is
    added to the test's own timeout.
    """
    if not config.pluginmanager.hasplugin("timeout"):
        return
    jaeger_users = [i for i in items if "jaeger_binary" in getattr(i, "fixturenames", ())]
    if jaeger_users and not jaeger_binary_cached():
        for item in jaeger_users:
            own = item.get_closest_marker("timeout")
            base = float(own.args[0]) if own and own.args else float(config.getini("timeout"))
            item.add_marker(pytest.mark.timeout(base + JAEGER_BUILD_TIMEOUT_S), append=False)
    if os.environ.get(harness.BINARY_ENV):
        return
    users = [i for i in items if "otelcol_binary" in getattr(i, "fixturenames", ())]
    if not users or harness.find_go() is None:
        return
    try:
        cached = os.access(harness.cached_binary_path(), os.X_OK)
    except (OSError, IndexError, subprocess.SubprocessError):  # the fixture reports build problems
        cached = False
    if not cached:
        for item in users:
            item.add_marker(pytest.mark.timeout(harness.BUILD_TIMEOUT_S + 120))


@pytest.fixture(scope="session")
def collector_harness() -> ModuleType:
    """The ``_collector`` module (helpers such as ``iter_spans``, ``free_port``)."""
    return harness


@pytest.fixture(scope="session")
def otelcol_binary() -> Path:
    override = os.environ.get(harness.BINARY_ENV)
    if override:
        path = Path(override)
        if not os.access(path, os.X_OK):
            pytest.fail(f"{harness.BINARY_ENV}={override} is not an executable file")
        return path
    if harness.find_go() is None:
        pytest.skip(
            "Go toolchain not found (needed to build the OpenTelemetry Collector with ocb); "
            f"install Go >= 1.26 or set {harness.BINARY_ENV} to an otelcol-contrib binary"
        )
    return Path(harness.build_collector())


@pytest.fixture
def _collectors() -> Iterator[list[Any]]:
    """Every Collector process a test started; stopped (last first) at teardown."""
    started: list[Any] = []
    yield started
    errors = []
    for process in reversed(started):
        try:
            process.stop()
        except harness.CollectorError as exc:
            errors.append(str(exc))
        print(f"\n--- {process.name} log ({process.log_path}), last lines ---")
        print(process.log_tail(40))
    if errors:
        pytest.fail("\n".join(errors))


@pytest.fixture
def start_sink(otelcol_binary: Path, tmp_path: Path, _collectors: list[Any]) -> Callable[..., Any]:
    """Factory: ``start_sink(name="sink")`` -> a running ``OtlpSink``."""

    def start(name: str = "sink") -> Any:
        sink = harness.start_sink(otelcol_binary, tmp_path / name)
        _collectors.append(sink.process)
        return sink

    return start


@pytest.fixture
def otlp_sink(start_sink: Callable[..., Any]) -> Any:
    """The second OTLP destination, running."""
    return start_sink()


@pytest.fixture
def start_main_collector(
    otelcol_binary: Path, tmp_path: Path, _collectors: list[Any]
) -> Callable[..., Any]:
    """Factory: ``start_main_collector(sink, crewscope_endpoint=None, extra_env=None,
    name="main")`` -> a running ``MainCollector`` on the repo's otel-collector.yaml."""

    def start(
        sink: Any | None,
        crewscope_endpoint: str | None = None,
        extra_env: dict[str, str] | None = None,
        name: str = "main",
    ) -> Any:
        collector = harness.start_main_collector(
            otelcol_binary,
            tmp_path / name,
            sink,
            crewscope_endpoint=crewscope_endpoint,
            extra_env=extra_env,
        )
        _collectors.append(collector.process)
        return collector

    return start


@pytest.fixture
def main_collector(start_main_collector: Callable[..., Any], otlp_sink: Any) -> Any:
    """otel-collector.yaml running, Jaeger/Tempo/Mimir -> ``otlp_sink``, crewscope -> nowhere."""
    return start_main_collector(otlp_sink)


# --- Jaeger v2, a real OTLP destination -------------------------------------------------

JAEGER_BINARY_ENV = "CREWSCOPE_JAEGER_BIN"
"""Path of a Jaeger v2 binary to use instead of building one (e.g. an official release)."""
JAEGER_BUILD_SCRIPT = harness.REPO_ROOT / "scripts" / "build_jaeger.sh"
JAEGER_CONFIG = Path(__file__).with_name("jaeger.yaml")
JAEGER_BUILD_TIMEOUT_S = 2400.0
"""Upper bound for a first Jaeger build (a larger program than the Collector)."""


def jaeger_binary_cached() -> bool:
    """Whether the Jaeger binary is there already (so no build time is needed)."""
    if os.environ.get(JAEGER_BINARY_ENV):
        return True
    try:
        out = subprocess.run(
            ["bash", str(JAEGER_BUILD_SCRIPT), "--print-path"],
            check=True, capture_output=True, text=True, env=harness.build_env(), timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return False
    return os.access(out.stdout.strip().splitlines()[-1], os.X_OK)


@pytest.fixture(scope="session")
def jaeger_binary() -> Path:
    override = os.environ.get(JAEGER_BINARY_ENV)
    if override:
        if not os.access(override, os.X_OK):
            pytest.fail(f"{JAEGER_BINARY_ENV}={override} is not an executable file")
        return Path(override)
    if harness.find_go() is None:
        pytest.fail(
            "Go toolchain not found: scripts/build_jaeger.sh builds Jaeger v2 from the Go module "
            f"proxy (Go >= 1.24); install Go or set {JAEGER_BINARY_ENV} to a Jaeger v2 binary"
        )
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(JAEGER_BUILD_SCRIPT)],
        capture_output=True, text=True, env=harness.build_env(), timeout=JAEGER_BUILD_TIMEOUT_S,
    )  # fmt: skip
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-60:])
        pytest.fail(f"{JAEGER_BUILD_SCRIPT} failed (exit {proc.returncode}):\n{tail}")
    binary = Path(proc.stdout.strip().splitlines()[-1])
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{JAEGER_BUILD_SCRIPT} reported {binary}, which is not executable")
    if time.monotonic() - started > 5:
        print(f"built Jaeger in {time.monotonic() - started:.0f}s: {binary}")
    return binary


@dataclass
class Jaeger:
    """A running Jaeger v2 on jaeger.yaml: where to send OTLP and where to query."""

    process: Any
    otlp_grpc_endpoint: str
    otlp_http_endpoint: str
    query_http_endpoint: str
    query_grpc_endpoint: str
    health_endpoint: str
    metrics_endpoint: str

    @property
    def query_url(self) -> str:
        return f"http://{self.query_http_endpoint}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.metrics_endpoint}/metrics"


@pytest.fixture
def jaeger(jaeger_binary: Path, tmp_path: Path, _collectors: list[Any]) -> Jaeger:
    """Jaeger v2 running on jaeger.yaml, every listener on a fresh loopback port."""
    workdir = tmp_path / "jaeger"
    workdir.mkdir()

    def make() -> Any:
        ports = {
            name: harness.loopback(harness.free_port())
            for name in ("OTLP_GRPC", "OTLP_HTTP", "QUERY_HTTP", "QUERY_GRPC", "HEALTH")
        }
        metrics_port = harness.free_port()
        env = harness.base_env(
            {f"JAEGER_{name}_ENDPOINT": value for name, value in ports.items()}
            | {"JAEGER_METRICS_HOST": "127.0.0.1", "JAEGER_METRICS_PORT": str(metrics_port)}
        )
        return harness.OtelcolProcess(
            binary=jaeger_binary,
            configs=[JAEGER_CONFIG],
            env=env,
            log_path=workdir / "jaeger.log",
            health_endpoint=ports["HEALTH"],
            name="jaeger",
        )

    process = harness.start_with_free_ports(make, timeout=60.0)
    _collectors.append(process)
    env = process.env
    return Jaeger(
        process=process,
        otlp_grpc_endpoint=env["JAEGER_OTLP_GRPC_ENDPOINT"],
        otlp_http_endpoint=env["JAEGER_OTLP_HTTP_ENDPOINT"],
        query_http_endpoint=env["JAEGER_QUERY_HTTP_ENDPOINT"],
        query_grpc_endpoint=env["JAEGER_QUERY_GRPC_ENDPOINT"],
        health_endpoint=env["JAEGER_HEALTH_ENDPOINT"],
        metrics_endpoint=f"127.0.0.1:{env['JAEGER_METRICS_PORT']}",
    )
