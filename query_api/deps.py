"""FastAPI dependencies: the per-request session, shared query parameters and errors.

Every error answer has one shape, FastAPI's validation error (``HTTPValidationError`` in the
OpenAPI document): ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``, for a
parameter that fails its schema (422), a rule the schema cannot express (422, `invalid`:
``type`` ``range_reversed`` or ``range_too_large``) and a missing resource (404, `not_found`:
``type`` ``not_found``). `INVALID` and `NOT_FOUND` document them in the routes' ``responses``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from pydantic import AfterValidator, BeforeValidator
from starlette.requests import HTTPConnection

from crewscope.query_api.dates import to_naive_utc
from crewscope.query_api.models.common import ExecutionStatus, TimeRange
from crewscope.query_api.ops.health import HealthRegistry
from crewscope.query_api.queries.executions import Started
from crewscope.query_api.store.database import Database
from crewscope.query_api.store.session import Session


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


SYNC_WAIT_S = 0.05
"""How long a list or aggregate query waits for another's projection sync (heavy ingest)
before it reads the projections as of the last one: such answers may lag by one sync."""


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, with the projections brought up to date first, unless that
    would wait more than `SYNC_WAIT_S` behind another request's sync."""
    with get_db(request).session(wait_s=SYNC_WAIT_S) as session:
        yield session


def get_fresh_session(request: Request) -> Iterator[Session]:
    """A session with every committed span projected: for lookups by id, where a lagging
    answer would be a 404 for something a sender has been told is stored."""
    with get_db(request).session() as session:
        yield session


def get_health(request: Request) -> HealthRegistry:
    registry: HealthRegistry = request.app.state.health
    return registry


EARLIEST = datetime(1678, 1, 1)
LATEST = datetime(2261, 12, 31, 23, 59, 59, 999999)
"""The instants parameters are clamped to (UTC): about what DuckDB's nanosecond timestamps
hold (1677-09-21 .. 2262-04-11); beyond, a comparison with a stored one fails."""

_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BOUNDS = f"{EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d}"


def _iso_datetime(value: object) -> object:
    """Only ISO 8601 date-times: not the epoch numbers or bare dates pydantic also takes."""
    if isinstance(value, str) and not _ISO_DATETIME.fullmatch(value):
        raise ValueError("expected an ISO 8601 date and time, e.g. 2024-05-01T12:00:00Z")
    return value


def _iso_date(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected an ISO 8601 date, e.g. 2024-05-01")
    return value


def _clamp_datetime(value: datetime) -> datetime:
    """Within [EARLIEST, LATEST]: no stored timestamp lies outside, so a filter means the same."""
    try:
        naive = to_naive_utc(value)
    except OverflowError:  # an offset pushing year 1 or 9999 out of datetime's range
        return EARLIEST if value.year == 1 else LATEST
    assert naive is not None
    return value if EARLIEST <= naive <= LATEST else min(max(naive, EARLIEST), LATEST)


def _clamp_date(value: date) -> date:
    return min(max(value, EARLIEST.date()), LATEST.date())


Instant = Annotated[datetime, BeforeValidator(_iso_datetime), AfterValidator(_clamp_datetime)]
"""A date-time parameter: ISO 8601 (``2024-05-01T12:00:00Z``; without an offset, UTC); one
before 1678 or after 2261 (which no stored timestamp can be) is taken as the bound."""
Day = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_clamp_date)]
"""A day parameter: ISO 8601 (``2024-05-01``), clamped to 1678 .. 2261 likewise."""
INSTANT_DOC = f"ISO 8601 date and time (without an offset: UTC); clamped to {_BOUNDS}"
DAY_DOC = f"ISO 8601 date; clamped to {_BOUNDS}"

ERROR_BODY: dict[str, Any] = {
    "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "A parameter fails its schema, or a rule the schema cannot express: a "
        "range whose start is after its end (`type` `range_reversed`) or a series of too many "
        "buckets (`range_too_large`). `loc` names the parameter.",
        "content": ERROR_BODY,
    }
}
"""The routers' ``responses``: what a 422 means (the body of every error, 404 included)."""
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No such resource (`type` `not_found`, `loc` the path parameter); the "
        "body is that of a 422.",
        "content": ERROR_BODY,
    }
}
"""The ``responses`` of a route that answers 404 (`found`, `not_found`)."""

DbDep = Annotated[Database, Depends(get_db)]
SessionDep = Annotated[Session, Depends(get_session)]
FreshSessionDep = Annotated[Session, Depends(get_fresh_session)]


class CatchUp:
    """For a lookup by id on a `SessionDep` session: `catch_up(read)` is `read()`, or, when
    that finds nothing, `read()` again once every committed span is projected (the lookup
    did not wait behind another request's sync, but an acknowledged run is never a 404)."""

    def __init__(self, request: Request, session: SessionDep) -> None:
        self._db = get_db(request)
        self._session = session

    def __call__(self, read: Callable[[], T | None]) -> T | None:
        value = read()
        if value is None:
            self._db.projections.sync(self._session)
            value = read()
        return value


CatchUpDep = Annotated[CatchUp, Depends(CatchUp)]
HealthDep = Annotated[HealthRegistry, Depends(get_health)]

Limit = Annotated[int, Query(ge=1, le=100, description="page size, 1..100")]
MAX_OFFSET = 2**62
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip, 0..2**62")]
Status = Annotated[ExecutionStatus | None, Query(description="completed or failed")]
StartFrom = Annotated[Instant | None, Query(description=f"started at or after; {INSTANT_DOC}")]
StartTo = Annotated[Instant | None, Query(description=f"started at or before; {INSTANT_DOC}")]
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
    check_range(start_date_from, start_date_to, names=("start_date_from", "start_date_to"))
    return Started(status, start_date_from, start_date_to)


PageDep = Annotated[Page, Depends(get_page)]
StartedDep = Annotated[Started, Depends(get_started)]


def invalid(param: str, msg: str, kind: str, value: object = None) -> RequestValidationError:
    """A 422 for query parameter `param` that its schema allows but a rule does not."""
    return RequestValidationError(
        [{"type": kind, "loc": ("query", param), "msg": msg, "input": value}]
    )


def single_valued_query(connection: HTTPConnection) -> None:
    """Refuse a query parameter given more than once (422, or a policy-violation close on a
    WebSocket): every parameter of the API holds one value, and keeping only the last of
    several would accept what the schema does not."""
    seen: set[str] = set()
    for key, value in connection.query_params.multi_items():
        if key in seen:
            error = invalid(key, f"{key!r} is given more than once", "repeated_parameter", value)
            if connection.scope["type"] == "websocket":
                raise WebSocketRequestValidationError(error.errors())
            raise error
        seen.add(key)


def check_range(
    start: datetime | date | None,
    end: datetime | date | None,
    *,
    names: tuple[str, str] = ("start", "end"),
) -> None:
    """422 (``range_reversed``, at the end parameter) when a range is reversed."""
    if isinstance(start, datetime) and isinstance(end, datetime):
        start, end = to_naive_utc(start), to_naive_utc(end)
    if start is not None and end is not None and start > end:  # type: ignore[operator]
        raise invalid(names[1], f"{names[1]} is before {names[0]}", "range_reversed", str(end))


def not_found(what: str, ident: str, param: str | None = None) -> HTTPException:
    """A 404 for the `what` called `ident` (path parameter `param`, default `what`_id)."""
    loc = ["path", param or f"{what}_id"]
    msg = f"{what} {ident!r} not found"
    return HTTPException(
        status_code=404, detail=[{"type": "not_found", "loc": loc, "msg": msg, "input": ident}]
    )


def found(value: T | None, what: str, ident: str, param: str | None = None) -> T:
    """`value`, or a 404 for the `what` called `ident` when there is none."""
    if value is None:
        raise not_found(what, ident, param)
    return value
