"""Agents: list with summaries, and per-agent metrics (realtime from spans or from rollups)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crewscope.query_api.dates import as_utc, day_start, day_window, utcnow, window
from crewscope.query_api.models.agents import (
    AgentListResponse,
    AgentMetrics,
    AgentSummary,
    ExecutionTimes,
    TopError,
    Trend,
)
from crewscope.query_api.models.common import MetricType, TimeRange
from crewscope.query_api.queries.rows import from_row
from crewscope.query_api.store.query import named
from crewscope.query_api.store.session import Session
from crewscope.query_api.store.windows import hour_split

TREND_MIN_EXECUTIONS = 10
TREND_THRESHOLD = 0.05  # a change of more than 5 points in success rate
AGENT_EXISTS = named("reads/agent_exists")


def agent_exists(s: Session, agent: str) -> bool:
    return bool(s.scalar(AGENT_EXISTS, {"agent": agent}))


def list_agents(
    s: Session, time_range: TimeRange, now: datetime | None = None
) -> AgentListResponse:
    start, end = window(time_range.days, now)
    agents = agent_summaries(s, start, end)
    return AgentListResponse(time_range=time_range, agents=agents)


def agent_summaries(s: Session, start: datetime, end: datetime) -> list[AgentSummary]:
    h_from, h_to = hour_split(start, end)
    params = {"start": start, "end": end, "h_from": h_from, "h_to": h_to}
    rows = s.rows(named("reads/agent_list"), params)
    return [from_row(AgentSummary, row, "last_execution") for row in rows]


def trend(n: int, first_rate: float | None, second_rate: float | None) -> Trend:
    if n == 0:
        return Trend.NO_DATA
    if n < TREND_MIN_EXECUTIONS or first_rate is None or second_rate is None:
        return Trend.INSUFFICIENT_DATA
    if second_rate > first_rate + TREND_THRESHOLD:
        return Trend.IMPROVING
    if second_rate < first_rate - TREND_THRESHOLD:
        return Trend.DECLINING
    return Trend.STABLE


def agent_metrics(
    s: Session,
    agent: str,
    time_range: TimeRange,
    metric_type: MetricType,
    now: datetime | None = None,
) -> AgentMetrics:
    now = now or utcnow()
    start, end = window(time_range.days, now)
    day_from, day_to = day_window(time_range.days, now)
    params: dict[str, Any] = {"agent": agent}
    refreshed_at = None
    if metric_type is MetricType.REALTIME:
        h_from, h_to = hour_split(start, end)
        params.update(start=start, end=end, h_from=h_from, h_to=h_to)
        row = s.rows(named("reads/agent_metrics_realtime"), params)[0]
        source = "spans"
    else:
        start = day_start(day_from)
        params.update(day_from=day_from, day_to=day_to)
        row = s.rows(named("reads/agent_metrics_aggregated"), params)[0]
        refreshed_at = as_utc(row["refreshed_at"]) if row["refreshed_at"] else None
        source = "rollup"
    errors_params = {
        "agent": agent,
        "source": source,
        "start": start,
        "end": end,
        "day_from": day_from,
        "day_to": day_to,
    }
    top = s.rows(named("reads/agent_top_errors"), errors_params)
    n, ok = int(row["n"]), int(row["ok"])
    q = row["q"] or [None, None, None]
    return AgentMetrics(
        agent=agent,
        time_range=time_range,
        metric_type=metric_type,
        window_start=as_utc(start),
        window_end=as_utc(end),
        total_executions=n,
        successful_executions=ok,
        failed_executions=n - ok,
        success_rate=100.0 * ok / n if n else 0.0,
        error_rate=100.0 * (n - ok) / n if n else 0.0,
        execution_times=ExecutionTimes(
            avg_ms=row["sum_ms"] / n if n else None,
            min_ms=row["min_ms"],
            max_ms=row["max_ms"],
            p50_ms=q[0],
            p95_ms=q[1],
            p99_ms=q[2],
        ),
        top_errors=[TopError(**e) for e in top],
        trend=trend(n, row["first_rate"], row["second_rate"]),
        input_tokens=int(row["input_tokens"]),
        output_tokens=int(row["output_tokens"]),
        total_tokens=int(row["input_tokens"]) + int(row["output_tokens"]),
        cost_usd=row["cost_usd"],
        rollup_refreshed_at=refreshed_at,
    )
