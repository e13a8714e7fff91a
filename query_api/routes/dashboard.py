"""Dashboard data (JSON) and the server-rendered dashboard page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from crewscope.query_api.deps import SessionDep
from crewscope.query_api.models.dashboard import DashboardResponse
from crewscope.query_api.pages.dashboard import render_dashboard
from crewscope.query_api.queries.dashboard import dashboard

router = APIRouter(prefix="/dashboard", tags=["dashboard"])
page_router = APIRouter(tags=["dashboard"], include_in_schema=False)


@router.get("", response_model=DashboardResponse)
def read_dashboard(session: SessionDep) -> DashboardResponse:
    """Totals for 24h/7d/30d, top agents, agents with issues, executions per day."""
    return dashboard(session)


@page_router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/dashboard")


@page_router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(session: SessionDep) -> HTMLResponse:
    return HTMLResponse(render_dashboard(dashboard(session)))
