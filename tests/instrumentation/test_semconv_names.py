"""Semconv upkeep: every attribute and metric name crewscope's instrumentation emits is a
current OpenTelemetry semantic-conventions name or in crewscope's own namespaces.

Real crews and a flow (tool calls, a failing tool, memory) run through the instrumentor;
the names are collected from the finished spans (span and event attributes, event names)
and the metrics (metric names, data-point attributes). "Current" means defined by the
installed ``opentelemetry-semantic-conventions`` (stable or incubating) and not deprecated
there: read from the constants' modules, whose docstrings say "Deprecated: Replaced by ..."
(the GenAI names that only moved to the GenAI conventions' own repository stay current).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

OWN_NAMESPACES = ("crewai.", "crewscope.")
SDK_ADDED = {"exception.escaped"}
"""Names the OpenTelemetry SDK itself adds (``Span.record_exception`` writes
``exception.escaped``, deprecated in semconv): not crewscope's to rename. The test checks
they are still emitted, so this list goes when the SDK stops."""
SEMCONV_PACKAGES = (
    "opentelemetry.semconv.attributes",
    "opentelemetry.semconv._incubating.attributes",
    "opentelemetry.semconv.metrics",
    "opentelemetry.semconv._incubating.metrics",
)


def _constants(module_name: str) -> Iterator[tuple[str, bool]]:
    """(name, deprecated) for each string constant of a semconv module, from its source:
    a constant's docstring (the string right after it) says "Deprecated" when it is."""
    module = importlib.import_module(module_name)
    tree = ast.parse(Path(module.__file__ or "").read_text())
    body = tree.body
    for i, node in enumerate(body):
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            continue
        value = node.value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            continue
        doc = ""
        nxt = body[i + 1] if i + 1 < len(body) else None
        if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            doc = str(nxt.value.value)
        yield value.value, _deprecated(doc)


_MOVED = re.compile(r"\s*Deprecated: Moved to the \[OpenTelemetry GenAI semantic conventions")


def _deprecated(doc: str) -> bool:
    """True if `doc` deprecates its name. The GenAI names "moved" to the GenAI conventions'
    own repository are marked "Deprecated: Moved to ..." here: still current names."""
    return "Deprecated:" in doc and not _MOVED.match(doc)


def semconv_names() -> tuple[set[str], set[str]]:
    """(current, deprecated) names of the installed semantic conventions."""
    current: set[str] = set()
    deprecated: set[str] = set()
    for package_name in SEMCONV_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            for name, old in _constants(f"{package_name}.{info.name}"):
                (deprecated if old else current).add(name)
    return current, deprecated - current


@pytest.fixture
def emitted(
    _tracing: tuple[Any, Any], llm_server: Any, tmp_path: Path
) -> Iterator[dict[str, set[str]]]:
    """Run crews and a flow instrumented (spans and metrics); the names they emitted."""
    from crewscope.demo.crew import build_crew, make_llm, make_memory, word_counter_tool
    from crewscope.demo.flow import build_flow
    from crewscope.instrumentation import CrewAIInstrumentor

    tracer_provider, span_exporter = _tracing
    span_exporter.clear()
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider, process_metrics=False
    )
    try:
        llm = make_llm(llm_server.base_url, max_retries=0)
        build_crew(llm).kickoff(inputs={"topic": "names"})
        build_crew(llm, tool=word_counter_tool(fail=True), name="failing_crew").kickoff(
            inputs={"topic": "errors"}
        )
        build_crew(llm, name="memory_crew", memory=make_memory(llm, str(tmp_path))).kickoff(
            inputs={"topic": "memory"}
        )
        build_flow(llm).kickoff()
        names: dict[str, set[str]] = {"span": set(), "event": set(), "metric": set()}
        spans = span_exporter.get_finished_spans()
        for span in spans:
            names["span"].update(span.attributes or {})
            for event in span.events:
                names["event"].update(event.attributes or {})
        data = reader.get_metrics_data()
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    names["metric"].add(metric.name)
                    for point in metric.data.data_points:
                        names["span"].update(point.attributes or {})
        names["spans_seen"] = {str(len(spans))}
        yield names
    finally:
        instrumentor.uninstrument()
        meter_provider.shutdown()
        span_exporter.clear()


def _violations(names: set[str], current: set[str], deprecated: set[str]) -> dict[str, str]:
    out = {}
    for name in sorted(names):
        if name.startswith(OWN_NAMESPACES) or name in current or name in SDK_ADDED:
            continue
        out[name] = "deprecated semconv name" if name in deprecated else "not a semconv name"
    return out


def test_semconv_names_are_read_from_the_installed_package() -> None:
    current, deprecated = semconv_names()
    # the reader must see the GenAI names crewscope relies on, and tell the old ones apart
    assert {"gen_ai.operation.name", "gen_ai.agent.name", "gen_ai.usage.input_tokens"} <= current
    assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration"} <= current
    assert {"gen_ai.usage.prompt_tokens", "gen_ai.system"} <= deprecated
    assert "error.type" in current and "exception.type" in current


def test_every_emitted_name_is_current_semconv_or_our_namespace(
    emitted: dict[str, set[str]],
) -> None:
    current, deprecated = semconv_names()
    assert int(next(iter(emitted["spans_seen"]))) > 20
    # the crews really ran through the instrumentation: its hot names are there
    assert {"gen_ai.operation.name", "gen_ai.agent.name", "gen_ai.tool.name"} <= emitted["span"]
    assert "gen_ai.client.token.usage" in emitted["metric"]
    assert SDK_ADDED <= emitted["event"] | emitted["span"], "SDK_ADDED lists a name no longer seen"
    problems = {
        kind: bad
        for kind in ("span", "event", "metric")
        if (bad := _violations(emitted[kind], current, deprecated))
    }
    assert not problems, f"names outside semconv and crewai.*/crewscope.*: {problems}"
