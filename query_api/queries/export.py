"""Streamed CSV / JSON export of runs, tasks, rollups and log records (rows fetched in
batches)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from enum import Enum
from typing import Any

from crewscope.query_api.queries.executions import Started
from crewscope.query_api.queries.logs import LogFilters
from crewscope.query_api.queries.runs import run_filters
from crewscope.query_api.queries.tasks import task_filters
from crewscope.query_api.store.query import Fragment, Ident, Query, Where, named
from crewscope.query_api.store.rollup_tables import rollup_slots
from crewscope.query_api.store.session import Session

BATCH_ROWS = 2000


class Dataset(str, Enum):
    RUNS = "runs"
    TASKS = "tasks"
    ROLLUPS_AGENT = "rollups_agent"
    ROLLUPS_CREW = "rollups_crew"
    LOGS = "logs"


class ExportFormat(str, Enum):
    CSV = "csv"
    JSON = "json"


ROLLUP_GROUPS = {Dataset.ROLLUPS_AGENT: "agent", Dataset.ROLLUPS_CREW: "crew"}


def export_query(dataset: Dataset) -> tuple[Query, dict[str, Fragment]]:
    """The dataset's SELECT (a fixed allowlist) and its slots but ``{{where}}``."""
    group = ROLLUP_GROUPS.get(dataset)
    if group is None:
        return named(f"reads/export_{dataset.value}"), {}
    return named("reads/export_rollups"), {**rollup_slots(group), "group": Ident(group)}


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
    if dataset is Dataset.LOGS:  # records have no outcome: status does not apply
        return LogFilters(crew=crew, agent=agent, start=start_from, end=start_to).where(Where())
    group = ROLLUP_GROUPS[dataset]
    where = Where()
    column = rollup_slots(group)["name_column"].sql()
    where.add_if(agent if group == "agent" else crew, f"{column} = $name", "name")
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
    query, slots = export_query(dataset)
    columns, batches = s.batches(query, None, BATCH_ROWS, where=where, **slots)
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
