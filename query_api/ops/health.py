"""System health: the database, ingest, the background jobs, plus probes others register.

Components report through the app's `HealthRegistry`: the OTLP receiver's queue as
``ingest_queue`` (`ingest_queue_probe`), its decode workers as
``ingest_decoders``, or any ``register(name, probe)`` whose probe returns a `ComponentStatus`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from crewscope.query_api.dates import as_utc, utcnow
from crewscope.query_api.jobs.rollups import JobState
from crewscope.query_api.models.health import ComponentStatus, SystemHealthSummary
from crewscope.query_api.store.database import Database
from crewscope.query_api.store.query import named

if TYPE_CHECKING:
    from crewscope.exporter.read_priority import ReadsFirst
    from crewscope.exporter.receiver.decode_pool import DecodePool
    from crewscope.exporter.receiver.ingest import IngestQueue

logger = logging.getLogger(__name__)

Probe = Callable[[], ComponentStatus]
HEALTHY, DEGRADED, UNHEALTHY, NOT_CONFIGURED = "healthy", "degraded", "unhealthy", "not_configured"
QUEUE_DEGRADED_FILL = 0.8
DB_STATS = named("reads/database_stats")
TELEMETRY_LOSSES = named("reads/telemetry_losses")
LOSS_WINDOW_S = 24 * 3600


class HealthRegistry:
    """Named probes; each is called per health request and must be cheap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._probes: dict[str, Probe] = {}

    def register(self, name: str, probe: Probe) -> None:
        with self._lock:
            self._probes[name] = probe

    def register_queue(
        self,
        name: str,
        depth: Callable[[], int],
        capacity: int,
        dropped: Callable[[], int] | None = None,
    ) -> None:
        """A queue reported as degraded above 80% full, or once it has dropped items."""

        def probe() -> ComponentStatus:
            d = depth()
            lost = dropped() if dropped else 0
            full = d >= capacity * QUEUE_DEGRADED_FILL
            return ComponentStatus(
                name=name,
                status=DEGRADED if full or lost else HEALTHY,
                details=f"{d}/{capacity} queued" + (f", {lost} dropped" if lost else ""),
                metrics={"depth": d, "capacity": capacity, "dropped": lost},
            )

        self.register(name, probe)

    def statuses(self) -> list[ComponentStatus]:
        with self._lock:
            probes = dict(self._probes)
        out = []
        for name, probe in probes.items():
            try:
                out.append(probe())
            except Exception as exc:  # a broken probe reports itself, never the endpoint
                logger.debug("health probe %s failed", name, exc_info=True)
                out.append(ComponentStatus(name=name, status=UNHEALTHY, details=str(exc)))
        return out


def ingest_queue_probe(queue: IngestQueue, reads: ReadsFirst | None) -> Probe:
    """The OTLP receiver's queue: degraded above 80% full or while it refuses requests
    (clients retry after ``Retry-After``; what it refused is counted, never acknowledged).
    ``dropped`` counts the refused spans that were decoded; a request refused before its body
    was read counts in ``requests_refused`` only. ``writes_yielded`` / ``yielded_s``: writes
    that waited for queries in progress while shedding, and their total wait."""

    def probe() -> ComponentStatus:
        d, cap, stats, shedding = queue.depth, queue.max_queued_spans, queue.stats, queue.shedding
        full = d >= cap * QUEUE_DEGRADED_FILL
        details = f"{d}/{cap} queued"
        if stats.requests_refused_full:
            details += (
                f", {stats.requests_refused_full} requests refused"
                f" ({stats.spans_refused_full} decoded spans)"
            )
        if shedding:
            details += ", shedding load"
        return ComponentStatus(
            name="ingest_queue",
            status=DEGRADED if full or shedding else HEALTHY,
            details=details,
            metrics={
                "depth": d,
                "capacity": cap,
                "dropped": stats.spans_refused_full,
                "requests_refused": stats.requests_refused_full,
                "shedding": int(shedding),
                "writes_yielded": reads.waits if reads else 0,
                "yielded_s": round(reads.waited_s, 3) if reads else 0.0,
            },
        )

    return probe


def decode_pool_probe(pool: DecodePool) -> Probe:
    """The OTLP decode workers: degraded while fewer are alive than configured, or once a
    request had to be decoded in the server because its worker died."""

    def probe() -> ComponentStatus:
        alive = len(pool.pids())
        ok = alive >= pool.workers and not pool.fallbacks
        return ComponentStatus(
            name="ingest_decoders",
            status=HEALTHY if ok else DEGRADED,
            details=f"{alive}/{pool.workers} decode workers alive"
            + (f", {pool.fallbacks} requests decoded in the server" if pool.fallbacks else ""),
            metrics={"workers": pool.workers, "alive": alive, "fallbacks": pool.fallbacks},
        )

    return probe


def database_status(db: Database) -> ComponentStatus:
    try:
        with db.reader() as s:
            row = s.first(DB_STATS)
        spans, last = (row or (0, None))[0], (row or (0, None))[1]
    except Exception as exc:  # noqa: BLE001 - whatever broke the database is what health reports
        return ComponentStatus(name="database", status=UNHEALTHY, details=str(exc))
    size = os.path.getsize(db.path) if os.path.exists(db.path) else None
    return ComponentStatus(
        name="database",
        status=HEALTHY,
        details=db.path,
        metrics={
            "spans": int(spans),
            "file_bytes": size,
            "last_span_start": as_utc(last).isoformat() if last else None,
        },
    )


def ingest_status(db: Database) -> ComponentStatus:
    p = db.projections
    return ComponentStatus(
        name="ingest",
        status=DEGRADED if p.last_error else HEALTHY,
        details=p.last_error or "projections in step with otel_traces",
        metrics={"last_sync_age_s": None if p.last_sync is None else time.time() - p.last_sync},
    )


def telemetry_loss_status(db: Database) -> ComponentStatus:
    """What apps lost before sending it (the SDK's own metrics, see the query), last 24 h:
    degraded while any app reports a loss."""
    end = utcnow()
    with db.reader() as s:
        rows = s.rows(
            TELEMETRY_LOSSES, {"start": end - timedelta(seconds=LOSS_WINDOW_S), "end": end}
        )
    lost = sum(int(r["lost"]) for r in rows)
    if not lost:
        return ComponentStatus(
            name="app_telemetry_losses",
            status=HEALTHY,
            details="no app reported lost telemetry in the last 24 h",
            metrics={"lost": 0, "services": 0},
        )
    worst = ", ".join(
        f"{r['service'] or 'unknown service'}: {r['lost']} {r['signal']} {r['stage']} ({r['reason']})"
        for r in rows[:5]
    )
    return ComponentStatus(
        name="app_telemetry_losses",
        status=DEGRADED,
        details=f"apps lost {lost} items in the last 24 h; {worst}",
        metrics={"lost": lost, "services": len({r["service"] for r in rows})},
    )


def job_status(job: JobState | None, name: str) -> ComponentStatus:
    if job is None or job.interval_s <= 0:
        return ComponentStatus(name=name, status=NOT_CONFIGURED, details="not scheduled")
    metrics: dict[str, float | int | str | None] = {
        "runs": job.runs,
        "interval_s": job.interval_s,
        "last_duration_s": job.last_duration_s,
        "last_run_age_s": None if job.last_run is None else time.time() - job.last_run,
    }
    if job.last_error:
        return ComponentStatus(name=name, status=DEGRADED, details=job.last_error, metrics=metrics)
    stale = job.last_run is not None and time.time() - job.last_run > 3 * job.interval_s
    return ComponentStatus(
        name=name,
        status=DEGRADED if stale else HEALTHY,
        details="overdue" if stale else ("waiting for first run" if job.last_run is None else "ok"),
        metrics=metrics,
    )


def system_health(
    db: Database, registry: HealthRegistry, jobs: dict[str, JobState]
) -> SystemHealthSummary:
    statuses = [database_status(db), ingest_status(db), telemetry_loss_status(db)]
    statuses += [job_status(jobs.get(name), f"{name}_job") for name in ("rollup", "retention")]
    statuses += registry.statuses()
    if statuses[0].status == UNHEALTHY:
        overall = UNHEALTHY
    elif any(s.status in (DEGRADED, UNHEALTHY) for s in statuses):
        overall = DEGRADED
    else:
        overall = HEALTHY
    return SystemHealthSummary(
        overall_status=overall, timestamp=as_utc(utcnow()), service_statuses=statuses
    )
