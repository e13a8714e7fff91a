"""The app's own ``logging`` records, correlated with the run they were emitted in.

Trace and span ids come from the OpenTelemetry context, which the SDK's logging handler
reads when a record is emitted: inside a crew run the current span is the step, tool or LLM
span crewscope opened. `RunContextProcessor` adds what the ids alone do not say: the crew,
agent and task names and the run ids of crewscope's run context (``_state.RUN_INFO``), the
same attributes the spans carry, so logs can be filtered by crew/agent/task/run without a
join. It sets them only where the record has none of its own. `SecretScrubProcessor` runs
the secret scrubber (``redaction.scrub_secrets``) over each record's body and attributes, so
an API key or ``Authorization`` header the app (or a library's debug log) writes is exported
as ``[REDACTED]``.

`logging_handler` is the handler ``configure(logs=True)`` attaches to the root logger, with
`RecordFilter` choosing what it exports (see `DEFAULT_LOG_LEVEL`, `DEFAULT_CREWAI_LOG_LEVEL`).
"""

from __future__ import annotations

import logging
import os
import warnings
import weakref

from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk._logs import (
    LoggerProvider,
    LoggingHandler,
    LogRecordProcessor,
    ReadWriteLogRecord,
)

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation._state import RUN_INFO
from crewscope.instrumentation.environment_variables import (
    CREWSCOPE_CREWAI_LOG_LEVEL,
    CREWSCOPE_LOG_LEVEL,
)
from crewscope.instrumentation.redaction import scrub_value

logger = logging.getLogger(__name__)

RUN_CONTEXT_ATTRIBUTES = (A.CREW_NAME, A.AGENT_NAME, A.TASK_NAME, A.RUN_ID, A.RUN_ROOT_ID)
"""What `RunContextProcessor` stamps on a record emitted inside a run."""

DEFAULT_LOG_LEVEL = logging.INFO
"""Least level of the records ``configure(logs=True)`` exports (``CREWSCOPE_LOG_LEVEL``), of
whatever the app's logging configuration lets through (Python's root logger passes WARNING
and above unless the app sets a level)."""

DEFAULT_CREWAI_LOG_LEVEL = logging.WARNING
"""Least level of the records of CrewAI's own loggers (``crewai.*``) that are exported
(``CREWSCOPE_CREWAI_LOG_LEVEL``): CrewAI's internals are not mirrored unless asked."""

CREWAI_LOGGER = "crewai"

NEVER_EXPORTED = ("opentelemetry", "crewscope.exporter")
"""Loggers whose records are never exported: the export path's own messages (a locked
file, a failing Collector) would otherwise feed back into the pipeline that reported them."""

_NEVER = logging.CRITICAL + 1


class _InPlaceProcessor(LogRecordProcessor):
    """A processor that changes each record as it is emitted: it holds nothing to flush
    or release."""

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class RunContextProcessor(_InPlaceProcessor):
    """Sets crew, agent, task and run attributes of crewscope's current run on each record.

    Runs in the emitting thread (the SDK calls processors synchronously), where crewscope's
    run context is the one of the code that logged. Add it before the exporting processors.
    """

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        try:
            info = RUN_INFO.get()
            if not (info.run_id or info.crew or info.agent or info.task):
                return  # outside any run: the common case, one context lookup
            record = log_record.log_record
            attributes = record.attributes
            if attributes is None:
                record.attributes = attributes = {}
            for key, value in info.attributes().items():
                if key not in attributes:
                    attributes[key] = value  # type: ignore[index]
        except Exception:  # telemetry never breaks the app's logging call
            logger.debug("crewscope: could not stamp run context on a log record", exc_info=True)


class SecretScrubProcessor(_InPlaceProcessor):
    """Redacts credential-shaped strings and the process's known credentials in each record's
    body and attribute values (nested ones too). Add it before the exporting processors."""

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        try:
            record = log_record.log_record
            if record.body is not None:
                record.body = scrub_value(record.body)
            attributes = record.attributes
            if attributes:
                for key, value in list(attributes.items()):
                    scrubbed = scrub_value(value)
                    if scrubbed != value:
                        attributes[key] = scrubbed  # type: ignore[index]
        except Exception:  # telemetry never breaks the app's logging call
            logger.debug("crewscope: could not scrub a log record", exc_info=True)


_installed: weakref.WeakSet[LoggerProvider] = weakref.WeakSet()


def install_run_context(provider: object | None = None) -> bool:
    """Add a `RunContextProcessor` and a `SecretScrubProcessor` to `provider` (default: the
    global logger provider) if it is an SDK ``LoggerProvider`` that has none yet; True if
    they were added.

    Processors run in the order added, and an exporting processor that is already there
    (``opentelemetry-instrument`` adds its exporters before any instrumentor runs) would see
    records before they are scrubbed: so they are moved before every processor present.
    """
    target = get_logger_provider() if provider is None else provider
    if not isinstance(target, LoggerProvider) or target in _installed:
        return False
    ours = (RunContextProcessor(), SecretScrubProcessor())
    for processor in ours:
        target.add_log_record_processor(processor)
    _run_first(target, ours)
    _installed.add(target)
    return True


def _run_first(provider: LoggerProvider, ours: tuple[LogRecordProcessor, ...]) -> None:
    """Put ``ours`` before the provider's other processors (the SDK has no public way to)."""
    multi = getattr(provider, "_multi_log_record_processor", None)
    lock = getattr(multi, "_lock", None)
    if multi is None or lock is None:
        return
    with lock:
        present = getattr(multi, "_log_record_processors", None)
        if not isinstance(present, tuple):
            return
        others = tuple(p for p in present if not any(p is o for o in ours))
        if others:
            multi._log_record_processors = (*ours, *others)
            logger.debug("crewscope: log context and scrubber run before %d processor(s)",
                         len(others))  # fmt: skip


def parse_level(raw: str | None, default: int, *, name: str = "level") -> int:
    """A level from a name (``INFO``, ``warning``), a number, or ``none``/``off`` (never)."""
    text = (raw or "").strip()
    if not text:
        return default
    if text.lower() in ("none", "off", "false"):
        return _NEVER
    if text.lstrip("-").isdigit():
        return int(text)
    level = logging.getLevelName(text.upper())
    if isinstance(level, int):
        return level
    logger.warning("crewscope: %s=%r is not a logging level; using %s", name, raw, default)
    return default


def log_level(value: int | str | None = None) -> int:
    """`value`, else ``CREWSCOPE_LOG_LEVEL``, else `DEFAULT_LOG_LEVEL`."""
    if isinstance(value, int):
        return value
    raw = value if value is not None else os.environ.get(CREWSCOPE_LOG_LEVEL)
    return parse_level(raw, DEFAULT_LOG_LEVEL, name=CREWSCOPE_LOG_LEVEL)


def crewai_log_level(value: int | str | None = None) -> int:
    """`value`, else ``CREWSCOPE_CREWAI_LOG_LEVEL``, else `DEFAULT_CREWAI_LOG_LEVEL`."""
    if isinstance(value, int):
        return value
    raw = value if value is not None else os.environ.get(CREWSCOPE_CREWAI_LOG_LEVEL)
    return parse_level(raw, DEFAULT_CREWAI_LOG_LEVEL, name=CREWSCOPE_CREWAI_LOG_LEVEL)


def _under(name: str, parent: str) -> bool:
    return name == parent or name.startswith(parent + ".")


class RecordFilter(logging.Filter):
    """Which ``logging`` records the handler exports: CrewAI's loggers from `crewai_level`,
    every other logger from `level`, the export path's own loggers never."""

    def __init__(self, level: int, crewai_level: int) -> None:
        super().__init__()
        self.level = level
        self.crewai_level = crewai_level

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if any(_under(name, never) for never in NEVER_EXPORTED):
            return False
        if _under(name, CREWAI_LOGGER):
            return record.levelno >= self.crewai_level
        return record.levelno >= self.level


def logging_handler(
    provider: LoggerProvider,
    *,
    level: int | str | None = None,
    crewai_level: int | str | None = None,
) -> LoggingHandler:
    """The SDK's logging handler on `provider`, with a `RecordFilter` (levels from the
    arguments, else the environment, else the defaults)."""
    with warnings.catch_warnings():
        # Deprecated in favour of opentelemetry-instrumentation-logging, which is not a
        # dependency; it is still the handler opentelemetry-instrument attaches.
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(level=logging.NOTSET, logger_provider=provider)
    handler.addFilter(RecordFilter(log_level(level), crewai_log_level(crewai_level)))
    return handler
