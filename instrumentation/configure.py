"""One call to trace CrewAI without ``opentelemetry-instrument``.

::

    from crewscope.instrumentation.configure import configure
    telemetry = configure()                       # DuckDB file ./crewscope.duckdb
    telemetry = configure(exporters=["duckdb", "otlp"])  # and OTLP to a Collector
    ...
    telemetry.shutdown()                          # flush and release the DuckDB file

Defaults follow the OpenTelemetry environment: ``OTEL_SERVICE_NAME``,
``OTEL_TRACES_EXPORTER`` and ``OTEL_METRICS_EXPORTER`` (comma lists of ``duckdb``,
``otlp``, ``console``, ``none``; default ``duckdb``), ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_PROTOCOL`` (``http/protobuf`` default, or ``grpc``), ``CREWSCOPE_DB``.
Metrics are collected every ``CREWSCOPE_METRICS_INTERVAL_MS``, else
``OTEL_METRIC_EXPORT_INTERVAL``, else 2000 ms; ``telemetry.process_metrics.watch(pid)``
adds the stats of another process (e.g. a crew running in a subprocess).

Losses are counted, never raised: each span exporter sits behind an `AccountedSpanProcessor`
(the SDK's `BatchSpanProcessor`, counting), and ``telemetry.span_stats()`` says, per exporter,
how many ended spans were offered, exported, failed to export (destination down, file locked,
disk full, ...), dropped because the queue was full (a flood, or a destination slower than
the app) or dropped at shutdown. The first loss of each kind is logged once (WARNING), and
``shutdown()`` logs what was lost in all. ``shutdown()`` waits at most
``CREWSCOPE_SHUTDOWN_TIMEOUT_MS`` (default 5000) per span exporter for the last export, so an
unreachable or slow destination cannot hold the app's exit (the SDK waits 30 s).

Logs (``configure(logs=True)``, or on by itself when ``OTEL_LOGS_EXPORTER`` names an
exporter): a logger provider with one batch processor per log exporter
(``OTEL_LOGS_EXPORTER``, default ``duckdb``) and a handler on the root logger, so the app's
``logging`` records land with the trace and span id of the span current when they were
emitted, plus crewscope's crew/agent/task/run attributes. It exports records from
``CREWSCOPE_LOG_LEVEL`` (default INFO) of what the app's logging configuration lets through,
and of CrewAI's own loggers only from ``CREWSCOPE_CREWAI_LOG_LEVEL`` (default WARNING).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    ConsoleLogRecordExporter,
    LogRecordExporter,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    ConsoleSpanExporter,
    SpanExporter,
)

from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.instrumentation.span_accounting import (
    AccountedSpanProcessor,
)

if TYPE_CHECKING:
    from crewscope.instrumentation._process_metrics import ProcessMetrics

logger = logging.getLogger(__name__)

CREWSCOPE_METRICS_INTERVAL_MS = "CREWSCOPE_METRICS_INTERVAL_MS"
"""Metric collection/export interval in ms; overrides ``OTEL_METRIC_EXPORT_INTERVAL``."""

DEFAULT_METRICS_INTERVAL_MS = 2000  # seed 001: live process stats every 2 s

E = TypeVar("E", SpanExporter, MetricExporter, LogRecordExporter)


@dataclass
class Telemetry:
    """What ``configure`` set up; ``shutdown()`` flushes and closes everything."""

    tracer_provider: TracerProvider
    exporters: list[SpanExporter] = field(default_factory=list)
    instrumentor: CrewAIInstrumentor | None = None
    meter_provider: MeterProvider | None = None
    metric_exporters: list[MetricExporter] = field(default_factory=list)
    logger_provider: LoggerProvider | None = None
    log_exporters: list[LogRecordExporter] = field(default_factory=list)
    log_handler: LoggingHandler | None = None
    """On the root logger while configured; ``shutdown()`` removes it."""
    span_processors: list[AccountedSpanProcessor] = field(default_factory=list)
    """One per span exporter, in the order of `exporters`."""

    def span_stats(self) -> list[dict[str, Any]]:
        """Per span exporter: spans offered, exported, failed, dropped (queue full, at
        shutdown), queued and lost in all (`SpanCounts`)."""
        return [p.counts().as_dict() for p in self.span_processors]

    @property
    def process_metrics(self) -> ProcessMetrics | None:
        """The instrumentor's ``ProcessMetrics`` (``watch(pid, attributes)``), or None."""
        found: ProcessMetrics | None = getattr(self.instrumentor, "process_metrics", None)
        return found

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        ok = bool(self.tracer_provider.force_flush(timeout_millis))
        if self.meter_provider is not None:
            ok = bool(self.meter_provider.force_flush(timeout_millis)) and ok
        if self.logger_provider is not None:
            ok = bool(self.logger_provider.force_flush(timeout_millis)) and ok
        return ok

    def shutdown(self) -> None:
        if self.instrumentor is not None:
            self.instrumentor.uninstrument()
        self.tracer_provider.shutdown()
        for processor in self.span_processors:
            counts = processor.counts()
            if counts.lost or counts.queued:
                logger.warning(
                    "crewscope: of %d spans for %s, %d were exported and %d lost: %d failed "
                    "to export, %d dropped with the queue full, %d dropped at shutdown"
                    "%s",
                    counts.offered, counts.exporter, counts.exported, counts.lost,
                    counts.failed, counts.dropped_queue_full, counts.dropped_shutdown,
                    f"; {counts.queued} in an export still running" if counts.queued else "",
                )  # fmt: skip
        if self.meter_provider is not None:
            self.meter_provider.shutdown()  # a last collection and export, then close
        if self.log_handler is not None:
            logging.getLogger().removeHandler(self.log_handler)
            self.log_handler = None
        if self.logger_provider is not None:
            self.logger_provider.shutdown()  # exports what is queued, then closes


@dataclass(frozen=True)
class _Signal(Generic[E]):
    """Where one signal's exporters are; all but the console one are imported only when
    chosen (DuckDB pulls in its dependencies; the grpc exporters are an optional install)."""

    name: str  # traces / metrics / logs: OTEL_EXPORTER_OTLP_<NAME>_PROTOCOL, <endpoint>/v1/<name>
    duckdb: str  # module:class
    otlp: str  # module (under opentelemetry.exporter.otlp.proto.<grpc|http>):class
    console: Callable[[], E]


_TRACES = _Signal[SpanExporter](
    "traces",
    "crewscope.exporter:DuckDBSpanExporter",
    "trace_exporter:OTLPSpanExporter",
    ConsoleSpanExporter,
)
_METRICS = _Signal[MetricExporter](
    "metrics",
    "crewscope.exporter.metric_exporter:DuckDBMetricExporter",
    "metric_exporter:OTLPMetricExporter",
    ConsoleMetricExporter,
)
_LOGS = _Signal[LogRecordExporter](
    "logs",
    "crewscope.exporter.log_exporter:DuckDBLogExporter",
    "_log_exporter:OTLPLogExporter",
    ConsoleLogRecordExporter,
)


def _load(path: str) -> Callable[..., Any]:
    module, name = path.split(":")
    cls: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return cls


def _make_exporter(
    signal: _Signal[E], name: str, db_path: str | None, otlp_endpoint: str | None
) -> E:
    if name == "duckdb":
        return cast(E, _load(signal.duckdb)(db_path))
    if name == "otlp":
        return cast(E, _otlp_exporter(signal, otlp_endpoint))
    if name == "console":
        return signal.console()
    raise ValueError(f"unknown {signal.name} exporter {name!r}: use duckdb, otlp or console")


def _otlp_exporter(signal: _Signal[E], endpoint: str | None) -> Any:
    protocol = os.environ.get(
        f"OTEL_EXPORTER_OTLP_{signal.name.upper()}_PROTOCOL",
        os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", ""),
    )
    if protocol.strip() == "grpc":
        grpc_exporter = _load(f"opentelemetry.exporter.otlp.proto.grpc.{signal.otlp}")
        return grpc_exporter(endpoint=endpoint) if endpoint else grpc_exporter()
    http_exporter = _load(f"opentelemetry.exporter.otlp.proto.http.{signal.otlp}")
    if endpoint:  # a base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT is
        return http_exporter(endpoint=f"{endpoint.rstrip('/')}/v1/{signal.name}")
    return http_exporter()


def metrics_interval_ms() -> int:
    """``CREWSCOPE_METRICS_INTERVAL_MS``, else ``OTEL_METRIC_EXPORT_INTERVAL``, else 2000."""
    for name in (CREWSCOPE_METRICS_INTERVAL_MS, "OTEL_METRIC_EXPORT_INTERVAL"):
        raw = os.environ.get(name, "").strip()
        if raw:
            try:
                return max(1, int(float(raw)))
            except ValueError:
                logger.warning("%s=%r is not a number of milliseconds", name, raw)
    return DEFAULT_METRICS_INTERVAL_MS


def _names(value: Sequence[str] | None, env: str, default: str = "duckdb") -> list[str]:
    if value is None:
        value = (os.environ.get(env) or default).split(",")
    return [e.strip() for e in value if e.strip() and e.strip() != "none"]


def configure(
    *,
    service_name: str | None = None,
    exporters: Sequence[str] | None = None,
    metrics_exporters: Sequence[str] | None = None,
    db_path: str | None = None,
    otlp_endpoint: str | None = None,
    capture_content: bool | str | None = None,
    redact: Callable[[str, str], str | None] | str | None = None,
    redact_secrets: bool | None = None,
    set_global: bool = True,
    resource_attributes: dict[str, Any] | None = None,
    metrics_interval_millis: int | None = None,
    process_metrics: bool | None = None,
    logs: bool | None = None,
    logs_exporters: Sequence[str] | None = None,
    log_level: int | str | None = None,
    crewai_log_level: int | str | None = None,
) -> Telemetry:
    """Tracer provider + batch processor per span exporter, meter provider + periodic
    reader per metric exporter, the CrewAI instrumentor, and with `logs` a logger provider
    + batch processor per log exporter and a handler on the root logger.

    `logs` defaults to on when `logs_exporters` is given or ``OTEL_LOGS_EXPORTER`` names an
    exporter; `log_level` / `crewai_log_level` override ``CREWSCOPE_LOG_LEVEL`` /
    ``CREWSCOPE_CREWAI_LOG_LEVEL`` (see ``_log_context``). `capture_content`, `redact` and
    `redact_secrets` go to the instrumentor (see ``crewscope.instrumentation.redaction``).
    """
    exporters = _names(exporters, "OTEL_TRACES_EXPORTER")
    metric_names = _names(metrics_exporters, "OTEL_METRICS_EXPORTER")
    attributes = dict(resource_attributes or {})
    if service_name:
        attributes["service.name"] = service_name
    resource = Resource.create(attributes)
    provider = TracerProvider(resource=resource)
    made = [_make_exporter(_TRACES, name, db_path, otlp_endpoint) for name in exporters]
    processors = [AccountedSpanProcessor(exporter) for exporter in made]
    for processor in processors:
        provider.add_span_processor(processor)
    interval = metrics_interval_millis or metrics_interval_ms()
    metric_exporters = [_make_exporter(_METRICS, n, db_path, otlp_endpoint) for n in metric_names]
    meter_provider = None
    if metric_exporters:
        meter_provider = MeterProvider(
            metric_readers=[
                PeriodicExportingMetricReader(e, export_interval_millis=interval)
                for e in metric_exporters
            ],
            resource=resource,
        )
    log_names = _names(logs_exporters, "OTEL_LOGS_EXPORTER")
    if logs is None:  # on when asked for by name: an argument or OTEL_LOGS_EXPORTER
        logs = bool(_names(logs_exporters, "OTEL_LOGS_EXPORTER", default="none"))
    logger_provider: LoggerProvider | None = None
    log_exporters: list[LogRecordExporter] = []
    log_handler: LoggingHandler | None = None
    if logs and log_names:
        logger_provider, log_exporters = _logger_provider(
            resource, log_names, db_path, otlp_endpoint
        )
    if set_global:
        trace.set_tracer_provider(provider)
        if meter_provider is not None:
            metrics.set_meter_provider(meter_provider)
        if logger_provider is not None:
            _logs.set_logger_provider(logger_provider)
    instrumentor = CrewAIInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(
        tracer_provider=provider,
        # no metrics exporter: no metric work at all
        meter_provider=meter_provider or metrics.NoOpMeterProvider(),
        capture_content=capture_content,
        redact=redact,
        redact_secrets=redact_secrets,
        process_metrics=process_metrics if meter_provider is not None else False,
        logger_provider=logger_provider or _logs.NoOpLoggerProvider(),
    )
    if logger_provider is not None:
        # Last, once everything else is set up: records flow from here on.
        from crewscope.instrumentation._log_context import logging_handler

        log_handler = logging_handler(
            logger_provider, level=log_level, crewai_level=crewai_log_level
        )
        logging.getLogger().addHandler(log_handler)
    return Telemetry(
        provider, made, instrumentor, meter_provider, metric_exporters,
        logger_provider, log_exporters, log_handler, processors,
    )  # fmt: skip


def _logger_provider(
    resource: Resource, names: Sequence[str], db_path: str | None, otlp_endpoint: str | None
) -> tuple[LoggerProvider, list[LogRecordExporter]]:
    """A logger provider stamping crewscope's run context, then exporting to `names`."""
    from crewscope.instrumentation._log_context import install_run_context

    logger_provider = LoggerProvider(resource=resource)
    install_run_context(logger_provider)  # before the exporters: processors run in order
    log_exporters = [_make_exporter(_LOGS, n, db_path, otlp_endpoint) for n in names]
    for exporter in log_exporters:
        logger_provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    return logger_provider, log_exporters
