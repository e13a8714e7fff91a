"""Query parameters and parameter sets several routes share (see also `crewscope.query_api.deps`).

A set of parameters that go together is a frozen dataclass, taken as a dependency
(``Annotated[TheSet, Depends()]``: FastAPI reads its fields as the query parameters); its
fields are keyword arguments of the query functions, which a route hands on (`kwargs`).
No ``from __future__ import annotations`` here: FastAPI reads the fields' annotations from
the class, which it cannot resolve when they are strings.
"""

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from crewscope.query_api.deps import INSTANT_DOC, AgentQ, CrewQ, Instant, check_range, invalid
from crewscope.query_api.models.series import Resolution
from crewscope.query_api.queries.metrics import RangeError, SeriesWindow, series_window

ServiceQ = Annotated[str | None, Query(description="service.name")]
PidQ = Annotated[int | None, Query(ge=0, description="process id")]


@dataclass(frozen=True)
class Filters:
    """Filters a query function takes as keyword arguments of the same names."""

    def kwargs(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProcessFilters(Filters):
    """Only the samples of this service and/or process."""

    service: ServiceQ = None
    pid: PidQ = None


@dataclass(frozen=True)
class AgentCrewFilters(Filters):
    """Only the executions of this agent and/or crew."""

    agent: AgentQ = None
    crew: CrewQ = None


ProcessDep = Annotated[ProcessFilters, Depends()]
AgentCrewDep = Annotated[AgentCrewFilters, Depends()]


ResolutionQ = Annotated[Resolution, Query(description="bucket width: 10s, 1m, 5m, 1h or 1d")]
StartQ = Annotated[Instant | None, Query(description=f"from (default: end - 1h); {INSTANT_DOC}")]
EndQ = Annotated[Instant | None, Query(description=f"to (default: now); {INSTANT_DOC}")]


def get_window(
    resolution: ResolutionQ = Resolution.M1, start: StartQ = None, end: EndQ = None
) -> SeriesWindow:
    """The buckets of a time series asked for (422 if reversed or too many)."""
    check_range(start, end)
    try:
        return series_window(start, end, resolution)
    except RangeError as exc:  # too many buckets
        raise invalid("resolution", str(exc), "range_too_large", resolution.value) from exc


WindowDep = Annotated[SeriesWindow, Depends(get_window)]
