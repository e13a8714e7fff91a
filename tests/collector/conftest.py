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

The harness lives in ``_collector.py`` and is imported here by path, since the tests are
not a package (``--import-mode=importlib``); test modules reach it through the
``collector_harness`` fixture.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
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
    applies again.
    """
    if not config.pluginmanager.hasplugin("timeout") or os.environ.get(harness.BINARY_ENV):
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
