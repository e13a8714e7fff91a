"""FastAPI dependencies: the per-request session and shared query parameters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Path, Query, Request

from crewscope.query_api.dates import to_naive_utc
from crewscope.query_api.models.common import ExecutionStatus, TimeRange
from crewscope.query_api.ops.health import HealthRegistry
from crewscope.query_api.queries.executions import Started
from crewscope.query_api.store.database import Database
from crewscope.query_api.store.session import Session


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, with the projections brought up to date first."""
    with get_db(request).session() as session:
        yield session


def get_health(request: Request) -> HealthRegistry:
    registry: HealthRegistry = request.app.state.health
    return registry


DbDep = Annotated[Database, Depends(get_db)]
SessionDep = Annotated[Session, Depends(get_session)]
HealthDep = Annotated[HealthRegistry, Depends(get_health)]

Limit = Annotated[int, Query(ge=1, le=100, description="page size, 1..100")]
Offset = Annotated[int, Query(ge=0, description="rows to skip")]
Status = Annotated[ExecutionStatus | None, Query(description="completed or failed")]
StartFrom = Annotated[datetime | None, Query(description="started at or after (ISO 8601)")]
StartTo = Annotated[datetime | None, Query(description="started at or before (ISO 8601)")]
Range = Annotated[TimeRange, Query(description="1d, 7d, 30d or 90d")]
AgentQ = Annotated[str | None, Query(description="only this agent")]
CrewQ = Annotated[str | None, Query(description="only this crew")]
CrewName = Annotated[str | None, Query(description="crew name")]
RunId = Annotated[
    str,
    Path(
        pattern="^([0-9a-f]{16}|[0-9a-f]{32})$",
        description="the run id (16 hex digits); a trace id (32) finds its first top-level run",
    ),
]

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def get_page(limit: Limit = 20, offset: Offset = 0) -> Page:
    return Page(limit, offset)


def get_started(
    status: Status = None, start_date_from: StartFrom = None, start_date_to: StartTo = None
) -> Started:
    """The status / start-time filters of runs, tasks and exports (422 if reversed)."""
    check_range(start_date_from, start_date_to)
    return Started(status, start_date_from, start_date_to)


PageDep = Annotated[Page, Depends(get_page)]
StartedDep = Annotated[Started, Depends(get_started)]


def check_range(start: datetime | date | None, end: datetime | date | None) -> None:
    """422 when a range is reversed (the reason says which parameters)."""
    if isinstance(start, datetime) and isinstance(end, datetime):
        start, end = to_naive_utc(start), to_naive_utc(end)
    if start is not None and end is not None and start > end:  # type: ignore[operator]
        raise HTTPException(status_code=422, detail="the range's start is after its end")


def not_found(what: str, ident: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} {ident!r} not found")


def found(value: T | None, what: str, ident: str) -> T:
    """`value`, or a 404 for the `what` called `ident` when there is none."""
    if value is None:
        raise not_found(what, ident)
    return value
