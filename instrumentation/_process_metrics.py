"""Process stats (psutil) as observable instruments, for this process and for other PIDs.

Why not only ``opentelemetry-instrumentation-system-metrics``: its process metrics cover
just ``os.getpid()``, use the pre-semconv attribute ``type`` instead of ``cpu.mode`` /
``process.context_switch.type`` and the old ``process.open_file_descriptor.count`` name,
and its instrumentor is a singleton. A crew running in a subprocess (seed 001) needs the
same series for any PID, tagged with ``process.pid`` and the crew/agent it serves, so all
process series come from here; the system-metrics instrumentor stays useful for the
``system.*`` and ``cpython.gc.*`` metrics, which this module does not write.

Sampling happens when a metric reader collects, i.e. at the PeriodicExportingMetricReader
interval (``configure`` sets it from ``CREWSCOPE_METRICS_INTERVAL_MS``, else
``OTEL_METRIC_EXPORT_INTERVAL``, else 2 s). A PID that exits is dropped on the next
collection: its series simply end, nothing is logged above debug level.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

import psutil
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.semconv._incubating.attributes.cpu_attributes import CPU_MODE
from opentelemetry.semconv._incubating.attributes.process_attributes import (
    PROCESS_CONTEXT_SWITCH_TYPE,
    PROCESS_PID,
)
from opentelemetry.semconv._incubating.metrics import process_metrics as pm
from opentelemetry.util.types import AttributeValue

logger = logging.getLogger(__name__)

CREWSCOPE_PROCESS_METRICS: Final = "CREWSCOPE_PROCESS_METRICS"
"""``false`` turns off the psutil stats of the instrumented process (default on)."""

# One collection calls each instrument's callback once, within milliseconds: the
# instruments share one psutil sample per PID, and an instrument asking again (the next
# collection) gets a fresh one. The age limit only guards against a stale sample.
_SAMPLE_MAX_AGE_S = 1.0


def enabled_by_env() -> bool:
    return os.environ.get(CREWSCOPE_PROCESS_METRICS, "true").strip().lower() != "false"


@dataclass
class _Sample:
    cpu_user: float
    cpu_system: float
    rss: int
    vms: int
    threads: int
    fds: int | None
    ctx_voluntary: int
    ctx_involuntary: int
    utilization: float | None


_Points = tuple[tuple[str, dict[str, str]], ...]
"""An instrument's data points per sample: (``_Sample`` field, extra attributes); a field
that is None (not available for that process) is skipped."""


@dataclass
class _Watched:
    proc: psutil.Process
    attributes: dict[str, AttributeValue]
    cpus: int
    sample: _Sample | None = None
    taken_at: float = 0.0
    last_cpu: tuple[float, float] | None = None  # (monotonic time, user+system seconds)
    consumed: set[str] = field(default_factory=set)  # instruments that saw `sample`
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _cpu_count(proc: psutil.Process) -> int:
    try:
        return len(proc.cpu_affinity() or ()) or psutil.cpu_count() or 1
    except (AttributeError, OSError, psutil.Error):  # no affinity on macOS/Windows, or denied
        return psutil.cpu_count() or 1


def _read(w: _Watched) -> _Sample:
    """One psutil snapshot; raises NoSuchProcess (also for a zombie or a reused PID)."""
    proc = w.proc
    if not proc.is_running():  # compares the creation time: catches PID reuse
        raise psutil.NoSuchProcess(proc.pid)
    with proc.oneshot():
        if proc.status() == psutil.STATUS_ZOMBIE:
            raise psutil.NoSuchProcess(proc.pid)
        cpu = proc.cpu_times()
        mem = proc.memory_info()
        threads = proc.num_threads()
        ctx = proc.num_ctx_switches()
        try:
            fds: int | None = proc.num_fds()
        except (AttributeError, psutil.AccessDenied):  # Windows, or another user's process
            fds = None
    now = time.monotonic()
    total = cpu.user + cpu.system
    utilization = None
    if w.last_cpu is not None and now > w.last_cpu[0]:
        utilization = max(0.0, (total - w.last_cpu[1]) / ((now - w.last_cpu[0]) * w.cpus))
    w.last_cpu = (now, total)
    return _Sample(
        cpu.user,
        cpu.system,
        mem.rss,
        mem.vms,
        threads,
        fds,
        ctx.voluntary,
        ctx.involuntary,
        utilization,
    )


class ProcessMetrics:
    """psutil stats of watched PIDs (this process unless ``include_self=False``).

    ``watch(pid, {"crewai.crew.name": ..., "gen_ai.agent.name": ...})`` adds a process;
    every data point carries ``process.pid`` plus those attributes.
    """

    def __init__(
        self,
        meter: Meter,
        *,
        include_self: bool = True,
        self_attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, _Watched] = {}
        self._stopped = False
        if include_self:
            self.watch(os.getpid(), self_attributes)
        self._dispatch = _dispatch_for(meter)
        self._dispatch.add(self)

    def watch(self, pid: int, attributes: Mapping[str, AttributeValue] | None = None) -> bool:
        """Start reporting ``pid``; False if there is no such process (nothing is raised)."""
        try:
            proc = psutil.Process(pid)
            w = _Watched(proc, {**(attributes or {}), PROCESS_PID: pid}, _cpu_count(proc))
            _read(w)  # baseline for process.cpu.utilization; fails for a dead PID
        except psutil.Error:
            logger.debug("crewscope: cannot watch pid %s", pid, exc_info=True)
            return False
        with self._lock:
            self._watched[pid] = w
        return True

    def unwatch(self, pid: int) -> None:
        with self._lock:
            self._watched.pop(pid, None)

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return list(self._watched)

    def stop(self) -> None:
        """Report nothing more (the API cannot unregister observable instruments)."""
        self._stopped = True
        self._dispatch.discard(self)
        with self._lock:
            self._watched.clear()

    def samples(self, instrument: str) -> Iterator[tuple[dict[str, AttributeValue], _Sample]]:
        """(attributes, sample) per live PID for one instrument; vanished PIDs are dropped."""
        if self._stopped:
            return
        with self._lock:
            watched = list(self._watched.items())
        now = time.monotonic()
        for pid, w in watched:
            with w.lock:
                stale = w.sample is None or now - w.taken_at > _SAMPLE_MAX_AGE_S
                if stale or instrument in w.consumed:
                    try:
                        w.sample, w.taken_at = _read(w), now
                        w.consumed.clear()
                    except psutil.Error:  # exited, zombie, reused or no longer readable
                        logger.debug("crewscope: pid %s is gone; its series end", pid)
                        self.unwatch(pid)
                        continue
                w.consumed.add(instrument)
                sample = w.sample
            if sample is not None:
                yield w.attributes, sample


def _observations(
    collectors: Iterable[ProcessMetrics],
    instrument: str,
    points: _Points,
) -> list[Observation]:
    out = []
    for collector in collectors:
        try:
            for attrs, sample in collector.samples(instrument):
                for field_name, extra in points:
                    value = getattr(sample, field_name)
                    if value is not None:
                        out.append(Observation(value, {**attrs, **extra} if extra else attrs))
        except Exception:  # a callback must never break the collection
            logger.debug("crewscope: process metrics callback failed", exc_info=True)
    return out


_NO_ATTRS: dict[str, str] = {}


def _field(name: str) -> _Points:
    """The one data point of an instrument: field ``name`` of the sample."""
    return ((name, _NO_ATTRS),)


# name, kind, unit, description, data points
_INSTRUMENTS: tuple[tuple[str, str, str, str, _Points], ...] = (
    (
        pm.PROCESS_CPU_TIME,
        "counter",
        "s",
        "Total CPU seconds broken down by different CPU modes.",
        (("cpu_user", {CPU_MODE: "user"}), ("cpu_system", {CPU_MODE: "system"})),
    ),
    (
        pm.PROCESS_CPU_UTILIZATION,
        "gauge",
        "1",
        "Difference in process.cpu.time since the last measurement, divided by the elapsed "
        "time and number of CPUs available to the process.",
        _field("utilization"),
    ),
    (
        pm.PROCESS_MEMORY_USAGE,
        "updown",
        "By",
        "The amount of physical memory in use.",
        _field("rss"),
    ),
    (
        pm.PROCESS_MEMORY_VIRTUAL,
        "updown",
        "By",
        "The amount of committed virtual memory.",
        _field("vms"),
    ),
    (pm.PROCESS_THREAD_COUNT, "updown", "{thread}", "Process threads count.", _field("threads")),
    (
        pm.PROCESS_UNIX_FILE_DESCRIPTOR_COUNT,
        "updown",
        "{file_descriptor}",
        "Number of unix file descriptors in use by the process.",
        _field("fds"),
    ),
    (
        pm.PROCESS_CONTEXT_SWITCHES,
        "counter",
        "{context_switch}",
        "Number of times the process has been context switched.",
        (
            ("ctx_voluntary", {PROCESS_CONTEXT_SWITCH_TYPE: "voluntary"}),
            ("ctx_involuntary", {PROCESS_CONTEXT_SWITCH_TYPE: "involuntary"}),
        ),
    ),
)


class _Dispatch:
    """The observable instruments of one meter, feeding from every live ProcessMetrics.

    The SDK hands back the first instrument (with its first callbacks) when one is created
    again under the same name, so re-instrumenting must reuse these callbacks, not add new.
    """

    def __init__(self, meter: Meter) -> None:
        self._lock = threading.Lock()
        self._collectors: set[ProcessMetrics] = set()
        create = {
            "counter": meter.create_observable_counter,
            "gauge": meter.create_observable_gauge,
            "updown": meter.create_observable_up_down_counter,
        }
        for name, kind, unit, description, points in _INSTRUMENTS:
            create[kind](
                name, callbacks=[self._callback(name, points)], unit=unit, description=description
            )

    def add(self, collector: ProcessMetrics) -> None:
        with self._lock:
            self._collectors.add(collector)

    def discard(self, collector: ProcessMetrics) -> None:
        with self._lock:
            self._collectors.discard(collector)

    def _callback(
        self, name: str, points: _Points
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            with self._lock:
                collectors = list(self._collectors)
            return _observations(collectors, name, points)

        return callback


_DISPATCH: weakref.WeakKeyDictionary[Meter, _Dispatch] = weakref.WeakKeyDictionary()
_DISPATCH_LOCK = threading.Lock()


def _dispatch_for(meter: Meter) -> _Dispatch:
    with _DISPATCH_LOCK:
        dispatch = _DISPATCH.get(meter)
        if dispatch is None:
            dispatch = _DISPATCH[meter] = _Dispatch(meter)
        return dispatch
