"""Daily rollups per agent or per crew, as stored by the rollup job (`jobs.rollups`)."""

from __future__ import annotations

from datetime import date

from crewscope.query_api.models.rollups import RollupGroupBy, RollupResponse, RollupRow
from crewscope.query_api.queries.rows import from_row
from crewscope.query_api.store.query import named
from crewscope.query_api.store.rollup_tables import rollup_slots
from crewscope.query_api.store.session import Session


def read_rollups(
    s: Session,
    group_by: RollupGroupBy,
    date_from: date,
    date_to: date,
    name: str | None,
    limit: int,
    offset: int,
) -> RollupResponse:
    slots = rollup_slots(group_by.value)
    params: dict[str, object] = {"date_from": date_from, "date_to": date_to, "name": name}
    page = {**params, "limit": limit, "offset": offset}
    found = s.rows(named("reads/rollup_list"), page, **slots)
    if found:
        total = found[0]["total"]
    else:  # past the last row (or none): counted apart
        total = (s.scalar(named("reads/rollup_count"), params, **slots) or 0) if offset else 0
    rows = [
        from_row(RollupRow, row, "refreshed_at", **{group_by.value: row["name"]}) for row in found
    ]
    return RollupResponse(
        group_by=group_by.value,
        date_from=date_from,
        date_to=date_to,
        rows=rows,
        total=int(total),
        limit=limit,
        offset=offset,
    )
