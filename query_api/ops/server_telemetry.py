"""Installs crewscope serve's own telemetry: the ``/metrics`` registry and its HTTP spans.

See `crewscope.query_api.ops.prometheus` for what ``/metrics`` holds and
`crewscope.query_api.ops.self_telemetry` for where the server's own spans go.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from fastapi import Response
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from crewscope.query_api.ops.prometheus import ServerCollector
from crewscope.query_api.ops.self_telemetry import (
    SELF_SERVICE_NAME,
    ExcludeRoutes,
    QueueSpanProcessor,
    self_telemetry_enabled,
)
from crewscope.query_api.version import version

if TYPE_CHECKING:
    from fastapi import FastAPI

    from crewscope.exporter.receiver.otlp_receiver import OtlpReceiver
    from crewscope.query_api.live.feed import LiveFeed
    from crewscope.query_api.ops.health import HealthRegistry
    from crewscope.query_api.store.handle import DatabaseHandle as Database

logger = logging.getLogger(__name__)


class ServerTelemetry:
    """The app's own metrics (``/metrics``) and HTTP spans; see the module docstring."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.meter_provider: MeterProvider | None = None
        self.tracer_provider: TracerProvider | None = None
        self.spans: QueueSpanProcessor | None = None
        self.collector: ServerCollector | None = None

    @classmethod
    def install(
        cls,
        app: FastAPI,
        *,
        db: Database,
        receiver: OtlpReceiver,
        health: HealthRegistry | None = None,
        live: LiveFeed | None = None,
        untraced_routes: Iterable[str] = (),
        instrument_http: bool | None = None,
        service_name: str = SELF_SERVICE_NAME,
    ) -> ServerTelemetry:
        self = cls(CollectorRegistry(auto_describe=False))
        if instrument_http is None:
            instrument_http = self_telemetry_enabled()
        if instrument_http:
            self._instrument(app, receiver, untraced_routes, service_name)
        self.collector = ServerCollector(db, receiver, health, live, self.spans)
        self.registry.register(self.collector)
        return self

    def _instrument(
        self,
        app: FastAPI,
        receiver: OtlpReceiver,
        untraced_routes: Iterable[str],
        service_name: str,
    ) -> None:
        try:
            from opentelemetry.exporter.prometheus import PrometheusMetricReader
            from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        except ImportError as exc:  # optional extras not installed
            logger.warning("crewscope: no HTTP self-telemetry (%s)", exc)
            return
        resource = Resource.create().merge(
            Resource({"service.name": service_name, "service.version": version()})
        )
        reader = PrometheusMetricReader(registry=self.registry)
        self.meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
        self.spans = QueueSpanProcessor(receiver)
        self.tracer_provider = TracerProvider(
            resource=resource, sampler=ExcludeRoutes(untraced_routes)
        )
        self.tracer_provider.add_span_processor(self.spans)
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            exclude_spans=["receive", "send"],
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def shutdown(self) -> None:
        """Flush own spans into the ingest queue (call before the receiver closes)."""
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()


def metrics_route(telemetry: Callable[[], ServerTelemetry]) -> Callable[[], Response]:
    """A FastAPI endpoint rendering the registry (sync: runs in the thread pool)."""

    def metrics() -> Response:
        body, content_type = telemetry().render()
        return Response(body, media_type=content_type)

    return metrics
