"""Dashboard data (JSON): the overview page of the web UI reads it."""

from __future__ import annotations

from fastapi import APIRouter

from crewscope.query_api.deps import SessionDep
from crewscope.query_api.models.dashboard import DashboardResponse
from crewscope.query_api.queries.dashboard import dashboard

router = APIRouter(prefix="/dashboard", tags=["dashboard"])


@router.get("", response_model=DashboardResponse)
def read_dashboard(session: SessionDep) -> DashboardResponse:
    """Totals for 24h/7d/30d, top agents, agents with issues, executions per day."""
    return dashboard(session)
