from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points


def _load(group: str, name: str):
    [ep] = [ep for ep in entry_points(group=group) if ep.name == name]
    return ep.load()


def test_instrumentor_entry_point_and_dependencies():
    from crewscope.instrumentation import CrewAIInstrumentor

    cls = _load("opentelemetry_instrumentor", "crewai")
    assert cls is CrewAIInstrumentor
    assert list(cls().instrumentation_dependencies()) == ["crewai >= 1.15"]


def test_traces_exporter_entry_point():
    from crewscope.exporter import DuckDBSpanExporter

    assert _load("opentelemetry_traces_exporter", "duckdb") is DuckDBSpanExporter


def test_importing_exporter_and_instrumentation_does_not_import_crewai():
    code = (
        "import sys, crewscope.exporter, crewscope.instrumentation, "
        "crewscope.instrumentation.configure; print('crewai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
