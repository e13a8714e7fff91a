"""The dashboard: period totals, best agents, agents with issues, executions per day."""

from __future__ import annotations

from datetime import datetime, timedelta

from crewscope.query_api.dates import as_utc, day_start, utcnow
from crewscope.query_api.models.dashboard import DashboardResponse, PeriodTotals, TrendPoint
from crewscope.query_api.queries.agents import agent_summaries
from crewscope.query_api.store.query import named
from crewscope.query_api.store.session import Session
from crewscope.query_api.store.windows import ceil_hour, floor_hour

ISSUE_ERROR_RATE = 10.0
"""An agent "has issues" when more than this percentage of its executions failed (7 days)."""
TOP_AGENTS = 5
PERIOD_DAYS = (1, 7, 30)  # the 24h / 7d / 30d rows of dashboard_totals.sql


def _periods(now: datetime) -> dict[str, datetime]:
    """Parameters of dashboard_totals.sql: each period's start and first whole hour."""
    params = {"now": now, "h_to": floor_hour(now)}
    for i, days in enumerate(PERIOD_DAYS, start=1):
        start = now - timedelta(days=days)
        params[f"s{i}"] = start
        params[f"c{i}"] = min(ceil_hour(start), params["h_to"])
    return params


def dashboard(
    s: Session,
    now: datetime | None = None,
    issue_error_rate: float = ISSUE_ERROR_RATE,
) -> DashboardResponse:
    """Read in one transaction: totals, agents and trend count the same spans (a projection
    sync committing between two reads made the 30-day executions disagree with the trend)."""
    with s.transaction():
        return _dashboard(s, now or utcnow(), issue_error_rate)


def _dashboard(s: Session, now: datetime, issue_error_rate: float) -> DashboardResponse:
    totals = [PeriodTotals(**row) for row in s.rows(named("reads/dashboard_totals"), _periods(now))]
    week = [a for a in agent_summaries(s, now - timedelta(days=7), now) if a.total_executions]
    top = sorted(week, key=lambda a: (-(a.success_rate or 0.0), a.avg_ms or 0.0, a.agent))
    issues = [a for a in week if 100.0 - (a.success_rate or 0.0) > issue_error_rate]
    issues.sort(key=lambda a: (a.success_rate or 0.0, a.agent))
    since = day_start((now - timedelta(days=29)).date())
    trend = [TrendPoint(**row) for row in s.rows(named("reads/dashboard_trend"), {"since": since})]
    month = totals[-1] if totals else None
    return DashboardResponse(
        generated_at=as_utc(now),
        totals=totals,
        average_success_rate=month.success_rate if month else None,
        top_agents=top[:TOP_AGENTS],
        agents_with_issues=issues,
        executions_trend=trend,
    )
