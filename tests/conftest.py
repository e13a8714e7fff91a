"""Shared fixtures: network guard, offline CrewAI, the fake LLM, an instrumented tracer,
real `crewscope serve` apps (used by the receiver, live feed and Prometheus tests)."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.env import netguard
from tests.helpers.served import Served, served_factory

# Before anything imports crewai: keep it offline and out of the real HOME.
_home = tempfile.mkdtemp(prefix="crewscope-test-home-")
atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ["HOME"] = _home
os.environ.setdefault("CREWAI_STORAGE_DIR", os.path.join(_home, "crewai-storage"))
os.environ.pop("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", None)
os.environ.setdefault("OPENAI_API_KEY", "sk-crewscope-test")

from crewscope.demo.env import apply_offline_env  # noqa: E402

apply_offline_env()

# Guard this process before any test runs. Tests use tests.helpers.env.netguard(); the
# module-level name stays only for a test that still imports it from here.
_netguard = netguard()


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[object]:
    from crewscope.demo.fake_llm import FakeLLMServer

    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def llm_server(fake_llm: object) -> object:
    fake_llm.reset()  # type: ignore[attr-defined]
    return fake_llm


@pytest.fixture(scope="session")
def _tracing() -> Iterator[tuple[object, object]]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def spans(_tracing: tuple[object, object]) -> Iterator[object]:
    """Instrument CrewAI for one test; yields the in-memory exporter."""
    from crewscope.instrumentation import CrewAIInstrumentor

    provider, exporter = _tracing
    exporter.clear()  # type: ignore[attr-defined]
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        exporter.clear()  # type: ignore[attr-defined]


@pytest.fixture
def make_served(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """make(**create_app_kwargs) -> a started server over a new file; all stopped after."""
    yield from served_factory(tmp_path)


@pytest.fixture
def served(make_served: Callable[..., Served]) -> Served:
    return make_served()


def pytest_report_header() -> list[str]:
    return [f"crewscope tests: HOME={_home}, python {sys.version.split()[0]}"]
