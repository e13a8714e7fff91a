"""Background jobs inside `crewscope serve`: rollup refresh and retention (TTL)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from crewscope.query_api.dates import utcnow
from crewscope.query_api.jobs.retention import cleanup
from crewscope.query_api.jobs.rollups import JobState, refresh_rollups
from crewscope.query_api.store.database import Database

logger = logging.getLogger(__name__)


def run_rollup(db: Database, job: JobState) -> None:
    """First run: every day not frozen; later runs: yesterday and today (late spans)."""

    def work() -> None:
        with db.reader() as s:
            db.projections.verify(s)
            db.projections.sync(s)
            since = None if job.runs == 0 else utcnow().date() - timedelta(days=1)
            refresh_rollups(s, since)

    _run(job, work)


def run_retention(db: Database, job: JobState, days: int) -> None:
    def work() -> None:
        with db.reader() as s:
            cleanup(s, db.projections, days)

    _run(job, work)


def _run(job: JobState, work: Callable[[], None]) -> None:
    started = time.perf_counter()
    try:
        work()
    except Exception as exc:  # noqa: BLE001 - recorded for /system/health and logged; the next run retries
        job.record(started, exc)
    else:
        job.record(started)


async def every(interval_s: float, fn: object, *args: object, first_delay_s: float = 0.0) -> None:
    """Run `fn(*args)` in a worker thread every `interval_s` until cancelled."""
    await asyncio.sleep(first_delay_s)
    while True:
        await asyncio.to_thread(fn, *args)  # type: ignore[arg-type]
        await asyncio.sleep(interval_s)
