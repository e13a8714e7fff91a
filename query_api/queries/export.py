"""Streamed CSV / JSON export of runs, tasks and rollups (rows fetched in batches)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from enum import Enum
from typing import Any

from crewscope.query_api.queries.executions import Started
from crewscope.query_api.queries.runs import run_filters
from crewscope.query_api.queries.tasks import task_filters
from crewscope.query_api.store.query import Where, named
from crewscope.query_api.store.session import Session

BATCH_ROWS = 2000


class Dataset(str, Enum):
    RUNS = "runs"
    TASKS = "tasks"
    ROLLUPS_AGENT = "rollups_agent"
    ROLLUPS_CREW = "rollups_crew"


class ExportFormat(str, Enum):
    CSV = "csv"
    JSON = "json"


EXPORT_QUERIES = {d: named(f"reads/export_{d.value}") for d in Dataset}
"""Each dataset's SELECT (a fixed allowlist), filtered by a `Where`."""


def export_filters(
    dataset: Dataset,
    crew: str | None,
    agent: str | None,
    started: Started,
) -> Where:
    if dataset is Dataset.RUNS:
        return run_filters(crew, started)
    if dataset is Dataset.TASKS:
        return task_filters(crew, agent, started=started)
    start_from, start_to = started.start_from, started.start_to
    where = Where()
    name = agent if dataset is Dataset.ROLLUPS_AGENT else crew
    col = '"AgentName"' if dataset is Dataset.ROLLUPS_AGENT else '"CrewName"'
    where.add_if(name, f"{col} = $name", "name")
    where.add_if(start_from.date() if start_from else None, '"Day" >= $day_from', "day_from")
    where.add_if(start_to.date() if start_to else None, '"Day" <= $day_to', "day_to")
    return where


MEDIA_TYPES = {ExportFormat.CSV: "text/csv", ExportFormat.JSON: "application/json"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    return value


def stream_export(s: Session, dataset: Dataset, fmt: ExportFormat, where: Where) -> Iterator[str]:
    """Yield the export in chunks; the caller owns (and closes) `s` after iteration."""
    columns, batches = s.batches(EXPORT_QUERIES[dataset], None, BATCH_ROWS, where=where)
    if fmt is ExportFormat.CSV:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        yield buf.getvalue()
        for batch in batches:
            buf.seek(0)
            buf.truncate()
            writer.writerows([[_plain(v) for v in row] for row in batch])
            yield buf.getvalue()
        return
    yield "["
    first = True
    for batch in batches:
        parts = [
            json.dumps(dict(zip(columns, map(_plain, row), strict=True)), ensure_ascii=False)
            for row in batch
        ]
        yield ("" if first else ",") + "\n" + ",\n".join(parts)
        first = False
    yield "\n]\n"
