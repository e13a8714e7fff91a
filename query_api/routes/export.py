"""CSV / JSON export of runs, tasks and rollups, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from crewscope.query_api.deps import INVALID, DbDep, StartedDep
from crewscope.query_api.queries.export import (
    MEDIA_TYPES,
    Dataset,
    ExportFormat,
    export_filters,
    stream_export,
)
from crewscope.query_api.store.session import Session

router = APIRouter(prefix="/export", tags=["export"], responses=INVALID)


def _stream(session: Session, chunks: Iterator[str]) -> Iterator[str]:
    try:
        yield from chunks
    finally:
        session.close()


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
    *,
    started: StartedDep,
) -> StreamingResponse:
    """Stream runs, tasks or rollups (start_date_* filter rollups by day)."""
    where = export_filters(dataset, crew, agent, started)
    session = db.new_session()
    db.projections.sync(session)
    stamp = date.today().isoformat()
    return StreamingResponse(
        _stream(session, stream_export(session, dataset, format, where)),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="crewscope-{dataset.value}-{stamp}.{format.value}"'
        },
    )
