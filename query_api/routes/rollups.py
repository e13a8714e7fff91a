"""Daily rollups per agent and per crew."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from crewscope.query_api.dates import utcnow
from crewscope.query_api.deps import (
    DAY_DOC,
    INVALID,
    Day,
    DbDep,
    Offset,
    SessionDep,
    check_range,
)
from crewscope.query_api.jobs.rollups import derived_rollups, refresh_rollups
from crewscope.query_api.models.rollups import RollupGroupBy, RollupRefreshResponse, RollupResponse
from crewscope.query_api.queries.rollups import read_rollups

router = APIRouter(prefix="/rollups", tags=["rollups"], responses=INVALID)


def _day(doc: str) -> Any:
    """The ``Query`` of a `Day` parameter: `doc`, then its format and bounds."""
    return Query(description=f"{doc}; {DAY_DOC}")


@router.get("/daily", response_model=RollupResponse)
def read_daily(
    session: SessionDep,
    group_by: Annotated[RollupGroupBy, Query(description="agent or crew")] = RollupGroupBy.AGENT,
    date_from: Annotated[Day | None, _day("first day (default: 30 days ago)")] = None,
    date_to: Annotated[Day | None, _day("last day (default: today, UTC)")] = None,
    agent: Annotated[str | None, Query(description="only this agent (group_by=agent)")] = None,
    crew: Annotated[str | None, Query(description="only this crew (group_by=crew)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> RollupResponse:
    """Daily rollup rows, newest day first."""
    today = utcnow().date()
    date_to = date_to or today
    date_from = date_from or date_to - timedelta(days=29)
    check_range(date_from, date_to, names=("date_from", "date_to"))
    name = agent if group_by is RollupGroupBy.AGENT else crew
    return read_rollups(session, group_by, date_from, date_to, name, limit, offset)


@router.post("/refresh", response_model=RollupRefreshResponse)
def refresh(
    session: SessionDep,
    db: DbDep,
    date_from: Annotated[Day | None, _day("first day (default: all)")] = None,
    date_to: Annotated[Day | None, _day("last day (default: today)")] = None,
) -> RollupRefreshResponse:
    """Recompute the rollups of a range of days now (idempotent). On ClickHouse the rollups
    are kept current as spans arrive: nothing is recomputed, and the answer counts the rows."""
    check_range(date_from, date_to, names=("date_from", "date_to"))
    if db.engine == "duckdb":
        r = refresh_rollups(session, date_from, date_to)
    else:
        r = derived_rollups(session, date_from, date_to)
    return RollupRefreshResponse(
        date_from=r.day_from,
        date_to=r.day_to,
        days=r.days,
        agent_rows=r.agent_rows,
        crew_rows=r.crew_rows,
        seconds=r.seconds,
    )
