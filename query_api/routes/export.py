"""CSV / JSON export of runs, tasks and rollups, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated

import duckdb
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from crewscope.query_api.deps import DbDep, StartFrom, StartTo, Status, check_range
from crewscope.query_api.queries.export import MEDIA_TYPES, Dataset, ExportFormat, stream_export
from crewscope.query_api.queries.runs import run_filters
from crewscope.query_api.queries.tasks import task_filters
from crewscope.query_api.store.where import Where

router = APIRouter(prefix="/export", tags=["export"])


def export_filters(
    dataset: Dataset,
    crew: str | None,
    agent: str | None,
    status: object,
    start_from: datetime | None,
    start_to: datetime | None,
) -> Where:
    if dataset is Dataset.RUNS:
        return run_filters(crew, status, start_from, start_to)  # type: ignore[arg-type]
    if dataset is Dataset.TASKS:
        return task_filters(crew, agent, None, None, status, start_from, start_to)  # type: ignore[arg-type]
    where = Where()
    name = agent if dataset is Dataset.ROLLUPS_AGENT else crew
    col = '"AgentName"' if dataset is Dataset.ROLLUPS_AGENT else '"CrewName"'
    where.add_if(name, f"{col} = $name", "name")
    where.add_if(start_from.date() if start_from else None, '"Day" >= $day_from', "day_from")
    where.add_if(start_to.date() if start_to else None, '"Day" <= $day_to', "day_to")
    return where


def _stream(cur: duckdb.DuckDBPyConnection, chunks: Iterator[str]) -> Iterator[str]:
    try:
        yield from chunks
    finally:
        cur.close()


@router.get(
    "/{dataset}",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export(
    db: DbDep,
    dataset: Dataset,
    format: Annotated[ExportFormat, Query(description="csv or json")] = ExportFormat.CSV,
    crew: str | None = None,
    agent: str | None = None,
    status: Status = None,
    start_date_from: StartFrom = None,
    start_date_to: StartTo = None,
) -> StreamingResponse:
    """Stream runs, tasks or rollups (start_date_* filter rollups by day)."""
    check_range(start_date_from, start_date_to)
    where = export_filters(dataset, crew, agent, status, start_date_from, start_date_to)
    cur = db.cursor()
    db.projections.sync(cur)
    stamp = date.today().isoformat()
    return StreamingResponse(
        _stream(cur, stream_export(cur, dataset, format, where)),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="crewscope-{dataset.value}-{stamp}.{format.value}"'
        },
    )
