"""Daily rollups per agent or crew."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from pydantic import BaseModel

from crewscope.query_api.models.common import Paged


class RollupGroupBy(str, Enum):
    """What a daily rollup row is per."""

    AGENT = "agent"
    CREW = "crew"


class RollupRow(BaseModel):
    day: date
    agent: str | None = None
    crew: str | None = None
    executions: int
    successful: int
    failed: int
    success_rate: float | None
    avg_ms: float | None
    min_ms: float | None
    max_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    refreshed_at: datetime


class RollupResponse(Paged):
    group_by: str
    date_from: date
    date_to: date
    rows: list[RollupRow]


class RollupRefreshResponse(BaseModel):
    date_from: date | None
    date_to: date | None
    days: int
    agent_rows: int
    crew_rows: int
    seconds: float
