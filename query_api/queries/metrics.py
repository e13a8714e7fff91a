"""Process stats, token/cost and execution time series, and success rates per agent.

Time series are aggregated in DuckDB (``time_bucket``) over the stored rows: process stats
from ``otel_metrics_sum`` / ``otel_metrics_gauge`` (the psutil instruments, whichever path
landed them), tokens and cost from LLM-call spans, executions from ``invoke_agent`` spans,
runs from the top-level runs (``crewscope_runs``). Buckets without data are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from crewscope.exporter.operations import LLM_OPERATIONS
from crewscope.query_api.dates import as_utc, to_naive_utc, utcnow, window
from crewscope.query_api.models.common import TimeRange
from crewscope.query_api.models.runs import RunKind
from crewscope.query_api.models.series import (
    AgentSuccessRate,
    ExecutionPoint,
    ExecutionSeries,
    ExecutionSeriesResponse,
    ProcessPoint,
    ProcessSample,
    ProcessSeries,
    ProcessSeriesResponse,
    ProcessStatsResponse,
    Resolution,
    RunPoint,
    RunSeriesResponse,
    SeriesGroupBy,
    SuccessRateResponse,
    TokenPoint,
    TokenSeries,
    TokenSeriesResponse,
)
from crewscope.query_api.queries.rows import from_row, to_int
from crewscope.query_api.store.query import Where, named
from crewscope.query_api.store.session import Session

MAX_POINTS = 10_000
"""Most buckets one series may span (a wider range needs a coarser resolution)."""
DEFAULT_SPAN = timedelta(hours=1)


class RangeError(ValueError):
    """A bad start/end/resolution combination (422)."""


@dataclass(frozen=True)
class SeriesWindow:
    """[start, end] as naive UTC, cut into buckets of `resolution`."""

    resolution: Resolution
    start: datetime
    end: datetime

    def params(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "width_s": self.resolution.seconds}

    def fields(self) -> dict[str, Any]:
        """The `SeriesRange` fields of a response."""
        return {"resolution": self.resolution, "start": as_utc(self.start), "end": as_utc(self.end)}


def series_window(
    start: datetime | None, end: datetime | None, resolution: Resolution
) -> SeriesWindow:
    """[start, end] (default: the hour up to now); raises RangeError."""
    end_n = to_naive_utc(end) or utcnow()
    start_n = to_naive_utc(start) or end_n - DEFAULT_SPAN
    if start_n > end_n:
        raise RangeError("the range's start is after its end")
    if (end_n - start_n).total_seconds() / resolution.seconds > MAX_POINTS:
        raise RangeError(
            f"more than {MAX_POINTS} buckets of {resolution.value}: narrow the range "
            "or use a coarser resolution"
        )
    return SeriesWindow(resolution, start_n, end_n)


_IN_WINDOW = Where().add(
    '"MetricName" LIKE \'process.%\' AND "TimeUnix" BETWEEN $start AND $end '
    'AND ($service IS NULL OR "ServiceName" = $service)'
)
POINTS, _ = named("reads/process_points").render(
    {"sum_where": _IN_WINDOW, "gauge_where": _IN_WINDOW}
)
"""Every process-stat data point in the window, included by the process queries."""


def process_stats(
    s: Session,
    time_range: TimeRange,
    service: str | None = None,
    pid: int | None = None,
    now: datetime | None = None,
) -> ProcessStatsResponse:
    """The latest sample of each process seen within the range."""
    start, end = window(time_range.days, now)
    params = {"start": start, "end": end, "service": service, "pid": pid}
    rows = s.rows(named("reads/process_latest"), params, points=POINTS)
    out = []
    for r in rows:
        util, rss = r["cpu_utilization"], r["memory_usage_bytes"]
        out.append(
            from_row(
                ProcessSample,
                r,
                "timestamp",
                cpu_percent=None if util is None else util * 100.0,
                memory_mb=None if rss is None else rss / 2**20,
                threads=to_int(r["threads"]),
                file_descriptors=to_int(r["file_descriptors"]),
                context_switches=to_int(r["context_switches"]),
            )
        )
    return ProcessStatsResponse(time_range=time_range, processes=out)


def process_series(
    s: Session, w: SeriesWindow, service: str | None = None, pid: int | None = None
) -> ProcessSeriesResponse:
    params = {**w.params(), "service": service, "pid": pid}
    rows = s.rows(named("reads/process_series"), params, points=POINTS)
    series = []
    for (svc, p), group in groupby(rows, key=lambda r: (r["service"], r["pid"])):
        items = list(group)
        series.append(
            ProcessSeries(
                service=svc,
                pid=p,
                crew=next((r["crew"] for r in items if r["crew"]), None),
                agent=next((r["agent"] for r in items if r["agent"]), None),
                points=[
                    from_row(
                        ProcessPoint,
                        r,
                        "bucket",
                        threads_max=to_int(r["threads_max"]),
                        file_descriptors_max=to_int(r["file_descriptors_max"]),
                    )
                    for r in items
                ],
            )
        )
    return ProcessSeriesResponse(**w.fields(), series=series)


def token_series(
    s: Session,
    w: SeriesWindow,
    group_by: SeriesGroupBy = SeriesGroupBy.NONE,
    model: str | None = None,
    agent: str | None = None,
    crew: str | None = None,
) -> TokenSeriesResponse:
    params = {
        **w.params(), "group_by": group_by.value,
        "model": model, "agent": agent, "crew": crew, "llm_ops": list(LLM_OPERATIONS),
    }  # fmt: skip
    rows = s.rows(named("reads/token_series"), params)
    series = [
        TokenSeries(key=key, points=[_token_point(r) for r in items])
        for key, items in groupby(rows, key=lambda r: r["key"])
    ]
    return TokenSeriesResponse(**w.fields(), group_by=group_by, series=series)


def _tokens(r: dict[str, Any]) -> dict[str, int]:
    """The input and output token sums of a bucket's row, as ints."""
    return {"input_tokens": int(r["input_tokens"]), "output_tokens": int(r["output_tokens"])}


def _token_point(r: dict[str, Any]) -> TokenPoint:
    tokens = _tokens(r)
    total = tokens["input_tokens"] + tokens["output_tokens"]
    return from_row(TokenPoint, r, "bucket", **tokens, total_tokens=total)


def execution_series(
    s: Session, w: SeriesWindow, agent: str | None = None, crew: str | None = None
) -> ExecutionSeriesResponse:
    params = {**w.params(), "agent": agent, "crew": crew}
    rows = s.rows(named("reads/execution_series"), params)
    series = [
        ExecutionSeries(
            agent=name, points=[from_row(ExecutionPoint, r, "bucket", **_tokens(r)) for r in items]
        )
        for name, items in groupby(rows, key=lambda r: r["agent"])
    ]
    return ExecutionSeriesResponse(**w.fields(), series=series)


def run_series(
    s: Session, w: SeriesWindow, kind: RunKind | None = None, name: str | None = None
) -> RunSeriesResponse:
    """Top-level runs per bucket (by kickoff start): outcomes, duration, tokens, cost."""
    params = {**w.params(), "kind": kind.value if kind else None, "name": name}
    rows = s.rows(named("reads/run_series"), params)
    points = [from_row(RunPoint, r, "bucket", **_tokens(r)) for r in rows]
    return RunSeriesResponse(**w.fields(), kind=kind, name=name, points=points)


def success_rates(
    s: Session,
    time_range: TimeRange,
    crew: str | None = None,
    now: datetime | None = None,
) -> SuccessRateResponse:
    """The ``agent_success_rate`` gauge, per agent, from the stored executions."""
    start, end = window(time_range.days, now)
    rows = s.rows(named("reads/agent_success_rate"), {"start": start, "end": end, "crew": crew})
    return SuccessRateResponse(time_range=time_range, crew=crew, agents=list(_rates(rows)))


def _rates(rows: Iterable[dict[str, Any]]) -> Iterable[AgentSuccessRate]:
    for r in rows:
        ratio = float(r["success_ratio"])
        yield from_row(
            AgentSuccessRate, r, "last_execution", success_ratio=ratio, success_rate=100.0 * ratio
        )
