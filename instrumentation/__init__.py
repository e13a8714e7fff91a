"""OpenTelemetry instrumentation for CrewAI.

Zero-code::

    opentelemetry-instrument --traces_exporter duckdb python app.py

One explicit call (see ``crewscope.instrumentation.configure.configure`` for the full setup)::

    from crewscope.instrumentation import CrewAIInstrumentor
    CrewAIInstrumentor().instrument(tracer_provider=provider)

A crew kickoff is one run: ``invoke_workflow`` (crew) > ``invoke_agent`` (task) >
``step`` (one LLM turn) > ``chat`` (LLM call) and ``execute_tool`` (tool call), with the
OpenTelemetry GenAI semantic conventions. See SPANS.md for every attribute.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry._logs import get_logger
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.metrics import get_meter
from opentelemetry.semconv.schemas import Schemas
from opentelemetry.trace import get_tracer

from crewscope.instrumentation._config import CaptureConfig
from crewscope.instrumentation.package import _instruments
from crewscope.instrumentation.version import __version__

__all__ = ["CrewAIInstrumentor", "__version__"]


class CrewAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments CrewAI crews, tasks, agent steps, LLM calls, tools, memory and flows.

    Keyword arguments of ``instrument()`` (all optional; env vars otherwise):
    ``tracer_provider``, ``meter_provider`` (GenAI, agent and tool metrics; see
    ``_metrics.py``), ``process_metrics`` (psutil stats of this process, default on unless
    ``CREWSCOPE_PROCESS_METRICS=false``; ``self.process_metrics.watch(pid)`` adds other
    processes), ``capture_content`` (bool or a capture mode name, overrides
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), ``max_content_length``
    (overrides ``CREWSCOPE_CAPTURE_MAX_LENGTH``), ``redact`` (a hook ``(attribute key,
    text) -> text or None`` every captured content value goes through before truncation, or
    its ``module:function``; overrides ``CREWSCOPE_REDACT``), ``redact_secrets`` (False
    turns off the built-in secret scrubber on content; overrides
    ``CREWSCOPE_REDACT_SECRETS``; see ``crewscope.instrumentation.redaction``; after
    ``instrument()``, ``self.content_redactor.errors`` counts the hook's failures),
    ``logger_provider`` (where the
    ``gen_ai.client.inference.operation.details`` log events of the ``EVENT_ONLY`` and
    ``SPAN_AND_EVENT`` capture modes go; default the global LoggerProvider, a no-op unless
    one is set).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        # CrewAI is imported only here: `import crewscope.instrumentation` stays cheap.
        from crewscope.instrumentation._events import InferenceEvents
        from crewscope.instrumentation._log_context import install_run_context
        from crewscope.instrumentation._metrics import Instruments
        from crewscope.instrumentation._patches import Patcher
        from crewscope.instrumentation._process_metrics import ProcessMetrics, enabled_by_env
        from crewscope.instrumentation._spans import Telemetry

        tracer = get_tracer(
            __name__,
            __version__,
            kwargs.get("tracer_provider"),
            schema_url=Schemas.V1_37_0.value,
        )
        from crewscope.instrumentation.redaction import KNOWN_SECRETS

        capture = CaptureConfig.from_env(
            kwargs.get("capture_content"),
            kwargs.get("max_content_length"),
            kwargs.get("redact"),
            kwargs.get("redact_secrets"),
        )
        self.content_redactor = capture.redactor
        # the credentials in the environment are scrubbed wherever they would be recorded
        KNOWN_SECRETS.add_environment()
        meter = get_meter(
            __name__,
            __version__,
            kwargs.get("meter_provider"),
            schema_url=Schemas.V1_37_0.value,
        )
        process_metrics = kwargs.get("process_metrics")
        if process_metrics is None:
            process_metrics = enabled_by_env()
        instruments = Instruments.create(meter)  # None for a no-op meter
        self.process_metrics = (
            ProcessMetrics(meter) if process_metrics and instruments is not None else None
        )
        events = None
        if capture.as_event:
            logger = get_logger(
                __name__,
                __version__,
                kwargs.get("logger_provider"),
                schema_url=Schemas.V1_37_0.value,
            )
            events = InferenceEvents(logger)
        # Log records emitted inside a run name its crew, agent, task and run (zero-code too:
        # opentelemetry-instrument's logger provider gets the processor here).
        install_run_context(kwargs.get("logger_provider"))
        self._patcher = Patcher()
        self._patcher.apply(Telemetry(tracer, capture, instruments, events))

    def _uninstrument(self, **kwargs: Any) -> None:
        patcher = getattr(self, "_patcher", None)
        if patcher is not None:
            patcher.undo()
        process_metrics = getattr(self, "process_metrics", None)
        if process_metrics is not None:
            process_metrics.stop()
            self.process_metrics = None
