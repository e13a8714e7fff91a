"""The patch table: uninstrument restores exactly what instrument replaced."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanKind
from wrapt import FunctionWrapper

from crewscope.demo.crew import build_crew, make_llm
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.instrumentation._config import CaptureConfig
from crewscope.instrumentation._patches import _owner, targets
from crewscope.instrumentation._spans import Telemetry


def _class_attributes(provider: Any) -> dict[tuple[str, str], Any]:
    """What every importable patch target is right now, as stored on its owner."""
    import crewai  # noqa: F401 - the modules must exist before taking the snapshot

    tel = Telemetry(provider.get_tracer("snapshot"), CaptureConfig())
    out = {}
    for module, path, _ in targets(tel):
        try:
            owner, attr = _owner(module, path)
        except ImportError:  # an optional provider SDK that is not installed
            continue
        out[(module, path)] = vars(owner).get(attr)
    return out


def test_uninstrument_restores_every_patched_method(_tracing, llm_server):
    provider, exporter = _tracing
    before = _class_attributes(provider)
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    patched = _class_attributes(provider)
    instrumentor.uninstrument()
    assert any(isinstance(v, FunctionWrapper) for v in patched.values())
    assert _class_attributes(provider) == before
    for key, original in before.items():
        assert _class_attributes(provider)[key] is original, f"{key} not restored"
    exporter.clear()
    build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "t"})
    assert exporter.get_finished_spans() == ()


def _echo_llm_class() -> type:
    from crewai.llms.base_llm import BaseLLM

    class EchoLLM(BaseLLM):
        """A user's own LLM class, defined before instrument()."""

        def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
            return "echo"

    return EchoLLM


def test_uninstrument_restores_custom_llm_patches(_tracing):
    provider, exporter = _tracing
    exporter.clear()
    echo_llm = _echo_llm_class()
    original = vars(echo_llm)["call"]
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        wrapped = vars(echo_llm)["call"]
        assert isinstance(wrapped, FunctionWrapper) and wrapped.__wrapped__ is original
        assert echo_llm(model="echo-1").call("hi") == "echo"
        [chat] = exporter.get_finished_spans()
        assert chat.name == "chat echo-1" and chat.kind is SpanKind.CLIENT
    finally:
        instrumentor.uninstrument()
    assert vars(echo_llm)["call"] is original
    exporter.clear()
    assert echo_llm(model="echo-1").call("hi") == "echo"
    assert exporter.get_finished_spans() == ()
