"""`create_app(store)`: the FastAPI app serving one crewscope store (a DuckDB file, or ClickHouse)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace

from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse

from crewscope.exporter import SpanStore
from crewscope.exporter.receiver.decode_pool import DecodePool, default_workers
from crewscope.exporter.receiver.otlp_receiver import OtlpReceiver, config_from_env
from crewscope.query_api.deps import single_valued_query
from crewscope.query_api.jobs.retention import DEFAULT_RETENTION_DAYS
from crewscope.query_api.jobs.rollups import JobState
from crewscope.query_api.jobs.scheduler import every, run_retention, run_rollup
from crewscope.query_api.live.feed import LiveFeed
from crewscope.query_api.ops.health import HealthRegistry, decode_pool_probe, ingest_queue_probe
from crewscope.query_api.ops.server_telemetry import ServerTelemetry, metrics_route
from crewscope.query_api.routes import (
    agents,
    dashboard,
    export,
    flows,
    health,
    live,
    logs,
    metrics,
    rollups,
    runs,
    tasks,
    usage,
)
from crewscope.query_api.store.database import Database
from crewscope.query_api.store.handle import open_database
from crewscope.query_api.store.projector import Projector
from crewscope.query_api.version import version
from crewscope.query_api.web import routes as web

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/monitoring"
DEFAULT_ROLLUP_INTERVAL_S = 60.0
DEFAULT_RETENTION_INTERVAL_S = 3600.0


def create_app(
    db_path: str,
    *,
    store: SpanStore | None = None,
    rollup_interval_s: float = DEFAULT_ROLLUP_INTERVAL_S,
    retention_days: int | None = DEFAULT_RETENTION_DAYS,
    retention_interval_s: float = DEFAULT_RETENTION_INTERVAL_S,
    grpc_address: str | None = None,
    receiver_max_body_bytes: int | None = None,
    receiver_max_queued_spans: int | None = None,
    self_telemetry: bool | None = None,
    live_poll_interval_s: float = 0.25,
    tenant: str | None = None,
    decode_pool: DecodePool | None = None,
) -> FastAPI:
    """The query API over `db_path` (opened read-write now; pass `store` to share one).

    While the app runs (lifespan), rollups are refreshed every `rollup_interval_s` seconds
    and, unless `retention_days` is None, spans older than that many days are deleted every
    `retention_interval_s` seconds (first after one interval). An interval <= 0 disables a job.

    The app also receives OTLP: ``POST /v1/traces`` (HTTP) and, when `grpc_address` is given,
    OTLP/gRPC there; both land in the same file (env: ``CREWSCOPE_INGEST_TOKEN``,
    ``CREWSCOPE_INGEST_MAX_BYTES``, ``CREWSCOPE_INGEST_QUEUE_SPANS``, ...; a malformed value
    raises `crewscope.exporter.receiver.config.ConfigError` before the file is opened).

    ``GET /metrics`` serves Prometheus text; unless `self_telemetry` is False (default: env
    ``CREWSCOPE_SELF_TELEMETRY``, else on) the app's own HTTP requests are measured there and
    their server spans stored in the file (see `crewscope.query_api.ops.prometheus`). The live
    feed (``WS /api/v1/monitoring/live``) polls for new rows every `live_poll_interval_s`.

    With a `tenant` (``crewscope serve`` with an auth file: `crewscope.query_api.access`),
    the app is that tenant's: callers were authenticated before reaching it, so the receiver
    checks no token, and every row it writes is stamped with the tenant. A `decode_pool`
    given is shared with other apps (its owner closes it).
    """
    overrides = {
        k: v
        for k, v in {
            "max_body_bytes": receiver_max_body_bytes,
            "max_queued_spans": receiver_max_queued_spans,
        }.items()
        if v is not None
    }
    # Settings first: a bad CREWSCOPE_INGEST_* value (ConfigError) leaves no file open.
    receiver_config, queue_spans = config_from_env(**overrides)
    if tenant is not None:
        receiver_config = replace(receiver_config, token=None)
    decode_workers = 0 if decode_pool is not None else default_workers()
    db = open_database(db_path, store=store)
    receiver = OtlpReceiver(
        db.store, receiver_config, max_queued_spans=queue_spans, decode_workers=decode_workers,
        tenant=tenant, decode_pool=decode_pool,
    )  # fmt: skip
    projector = Projector(db) if isinstance(db, Database) else None
    if projector is not None:
        receiver.queue.on_written = projector.wake
    feed = LiveFeed(db, poll_interval_s=live_poll_interval_s)
    jobs = {
        "rollup": JobState("rollup", rollup_interval_s),
        "retention": JobState(
            "retention", retention_interval_s if retention_days is not None else 0.0
        ),
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if grpc_address:
            try:
                receiver.start_grpc(grpc_address)
            except (OSError, RuntimeError) as exc:  # e.g. a local Collector already has 4317
                logger.error("OTLP/gRPC receiver not started on %s: %s", grpc_address, exc)
        tasks: list[asyncio.Task[None]] = []
        tasks.append(asyncio.create_task(feed.run()))  # every engine (live.cursors)
        if rollup_interval_s > 0 and db.engine == "duckdb":
            tasks.append(
                asyncio.create_task(every(rollup_interval_s, run_rollup, db, jobs["rollup"]))
            )
        if retention_days is not None and db.engine != "duckdb":
            from crewscope.query_api.store.clickhouse.database import ClickHouseDatabase

            if isinstance(db, ClickHouseDatabase):  # retention there is table TTLs
                await asyncio.to_thread(db.retain, retention_days)
        if retention_days is not None and retention_interval_s > 0 and db.engine == "duckdb":
            tasks.append(
                asyncio.create_task(
                    every(
                        retention_interval_s,
                        run_retention,
                        db,
                        jobs["retention"],
                        retention_days,
                        first_delay_s=retention_interval_s,
                    )
                )
            )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            telemetry.shutdown()  # own spans into the queue before it closes
            receiver.close()  # writes what is queued before the file closes
            if projector is not None:
                projector.close()
            db.close()

    app = FastAPI(
        title="crewscope",
        summary="Observability for CrewAI: runs, flows, tasks, agents, rollups, usage and health.",
        version=version(),
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.jobs = jobs
    app.state.health = HealthRegistry()
    app.state.receiver = receiver
    app.state.health.register("ingest_queue", ingest_queue_probe(receiver.queue, receiver.reads))
    if receiver.decode_pool is not None:
        app.state.health.register("ingest_decoders", decode_pool_probe(receiver.decode_pool))
    app.state.live = feed
    for module in (
        runs,
        tasks,
        flows,
        agents,
        rollups,
        dashboard,
        usage,
        health,
        export,
        metrics,
        live,
        logs,
    ):
        app.include_router(
            module.router, prefix=API_PREFIX, dependencies=[Depends(single_valued_query)]
        )
    telemetry = ServerTelemetry.install(
        app, db=db, receiver=receiver, health=app.state.health, live=feed,
        untraced_routes=(
            "/v1/traces", "/v1/metrics", "/v1/logs", "/metrics", f"{API_PREFIX}/live",
        ),
        instrument_http=self_telemetry,
    )  # fmt: skip
    app.state.telemetry = telemetry
    app.add_api_route(
        "/metrics", metrics_route(lambda: telemetry), methods=["GET"], tags=["health"],
        summary="Prometheus metrics of this server", include_in_schema=True,
        response_class=PlainTextResponse,  # the text exposition format
    )  # fmt: skip
    app.include_router(web.router)  # the web UI: /, /agents, /runs, /usage, assets under /ui/
    app.include_router(receiver.router)
    return app
