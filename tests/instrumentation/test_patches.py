"""The patch table: uninstrument restores exactly what instrument replaced."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from wrapt import FunctionWrapper

from crewscope.demo.crew import build_crew, make_llm
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.instrumentation._config import CaptureConfig
from crewscope.instrumentation._patches import Patcher, Target, _owner, _resolve, targets
from crewscope.instrumentation._spans import Telemetry, passthrough_wrapper


def _class_attributes(provider: Any) -> dict[tuple[str, str], Any]:
    """What every importable patch target is right now, as stored on its owner."""
    import crewai  # noqa: F401 - the modules must exist before taking the snapshot

    tel = Telemetry(provider.get_tracer("snapshot"), CaptureConfig())
    out = {}
    for target in targets(tel):
        try:
            owner, attr = _owner(target.module, target.path)
        except ImportError:  # an optional provider SDK that is not installed
            continue
        out[(target.module, target.path)] = vars(owner).get(attr)
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

        async def acall(self, messages: Any, *args: Any, **kwargs: Any) -> str:
            await asyncio.sleep(0)
            return "async echo"

    return EchoLLM


def test_uninstrument_restores_custom_llm_patches(_tracing):
    provider, exporter = _tracing
    exporter.clear()
    echo_llm = _echo_llm_class()
    original = {attr: vars(echo_llm)[attr] for attr in ("call", "acall")}
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        for attr, fn in original.items():
            wrapped = vars(echo_llm)[attr]
            assert isinstance(wrapped, FunctionWrapper) and wrapped.__wrapped__ is fn, attr
        assert echo_llm(model="echo-1").call("hi") == "echo"
        [chat] = exporter.get_finished_spans()
        assert chat.name == "chat echo-1" and chat.kind is SpanKind.CLIENT
    finally:
        instrumentor.uninstrument()
    for attr, fn in original.items():
        assert vars(echo_llm)[attr] is fn, f"{attr} not restored"
    exporter.clear()
    assert echo_llm(model="echo-1").call("hi") == "echo"
    assert asyncio.run(echo_llm(model="echo-1").acall("hi")) == "async echo"
    assert exporter.get_finished_spans() == ()


def test_custom_llm_acall_is_a_chat_span_like_call(_tracing):
    provider, exporter = _tracing
    exporter.clear()
    echo_llm = _echo_llm_class()
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        llm = echo_llm(model="echo-1")
        llm.call("hi")
        assert asyncio.run(llm.acall("hi")) == "async echo"
    finally:
        instrumentor.uninstrument()
    sync_chat, async_chat = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time)
    exporter.clear()
    assert async_chat.name == sync_chat.name == "chat echo-1"
    assert async_chat.kind is SpanKind.CLIENT
    assert async_chat.attributes["gen_ai.operation.name"] == "chat"
    assert dict(async_chat.attributes) == dict(sync_chat.attributes)
    assert async_chat.end_time - async_chat.start_time > 0


def test_missing_required_target_warns_once_and_optional_target_stays_at_debug(caplog):
    import crewai.crew

    wrapper = passthrough_wrapper()
    table = [
        Target("crewai.crew", "Crew.kickoff_renamed_in_2099", wrapper),  # a renamed method
        Target("crewai.no_such_module", "Thing.run", wrapper),  # a moved module
        Target("crewai.crew", "Crew.optional_helper_2099", wrapper, optional=True),
        Target("crewai.crew", "Crew.kickoff", wrapper),  # present: patched
    ]
    caplog.set_level(logging.DEBUG, logger="crewscope.instrumentation")
    for _ in range(2):  # e.g. instrument, uninstrument, instrument again
        patcher = Patcher()
        patcher.patch(table)
        assert isinstance(vars(crewai.crew.Crew)["kickoff"], FunctionWrapper)
        patcher.undo()
    assert not isinstance(vars(crewai.crew.Crew)["kickoff"], FunctionWrapper)
    ours = [r for r in caplog.records if r.name.startswith("crewscope.")]
    warnings = [r.getMessage() for r in ours if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "crewai.crew:Crew.kickoff_renamed_in_2099" in warnings[0]
    assert "crewai.no_such_module:Thing.run" in warnings[1]
    optional = [r for r in ours if "Crew.optional_helper_2099" in r.getMessage()]
    assert len(optional) == 2 and {r.levelno for r in optional} == {logging.DEBUG}


def test_every_required_target_exists_in_the_installed_crewai():
    tel = Telemetry(TracerProvider().get_tracer("t"), CaptureConfig())
    required = [t for t in targets(tel) if not t.optional]
    assert len(required) > 20
    assert [f"{t.module}:{t.path}" for t in required if _resolve(t) is None] == []
